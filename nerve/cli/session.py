"""The principal a command runs as, its transaction, and its errors in the contract's shape."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from nerve.auth import service as auth_service
from nerve.auth.roles import ADMIN, Permission, authorize
from nerve.auth.service import Principal
from nerve.cli.output import fail
from nerve.errors import NerveError, Unavailable
from nerve.services import Services, provide_services
from nerve.workspaces import service as workspace_service


@contextmanager
def session(
    permission: Permission, workspace: str, as_json: bool, *, write: bool = True
) -> Iterator[tuple[Connection, Principal]]:
    """One transaction for one command, as a principal allowed `permission`; a NerveError
    anywhere inside ends the command in the contract's error shape."""
    with (
        _contract_errors(as_json),
        provide_services() as services,
        services.write() if write else services.read() as conn,
    ):
        principal = _principal(services, conn, workspace)
        authorize(principal.role, permission)
        yield conn, principal


@contextmanager
def authorized(
    permission: Permission, workspace: str, as_json: bool
) -> Iterator[tuple[Services, Principal]]:
    """The services, for a command that runs its own transactions (pruning), as a principal
    allowed `permission`; errors as in `session`."""
    with _contract_errors(as_json), provide_services() as services:
        with services.write() as conn:  # the operator's workspace may be created
            principal = _principal(services, conn, workspace)
        authorize(principal.role, permission)
        yield services, principal


def _principal(services: Services, conn: Connection, workspace: str) -> Principal:
    """The key in NERVE_API_KEY when set (its role applies, its workspace is used); otherwise
    the operator, who can reach the database and so is admin."""
    key = services.settings.api_key.get_secret_value()
    if key:
        return auth_service.verify_key(conn, key)
    workspace_id = workspace_service.ensure_workspace(conn, workspace)
    return Principal(key_id=auth_service.OPERATOR, workspace_id=workspace_id, role=ADMIN)


@contextmanager
def _contract_errors(as_json: bool) -> Iterator[None]:
    try:
        yield
    except NerveError as exc:
        fail(exc, as_json)
    except OperationalError as exc:  # unreachable, refused, locked: not a bug, say so plainly
        fail(Unavailable("cannot use the database", details=str(exc.orig)), as_json)
