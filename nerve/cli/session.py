"""One transaction per command, as an authorized principal, with errors in the contract's shape."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from nerve.auth import service as auth_service
from nerve.auth.roles import ADMIN, Permission, authorize
from nerve.auth.service import Principal
from nerve.cli.output import fail
from nerve.errors import NerveError
from nerve.services import provide_services
from nerve.workspaces import service as workspace_service


@contextmanager
def session(
    permission: Permission, workspace: str, as_json: bool, *, write: bool = True
) -> Iterator[tuple[Connection, Principal]]:
    """One transaction for one command, as a principal allowed `permission`; a NerveError
    anywhere inside ends the command in the contract's error shape.

    The principal is the key in NERVE_API_KEY when set (its role applies, its workspace is
    used); otherwise the operator, who can reach the database and so is admin."""
    try:
        with provide_services() as services, services.write() if write else services.read() as conn:
            key = services.settings.api_key.get_secret_value()
            if key:
                principal = auth_service.verify_key(conn, key)
            else:
                workspace_id = workspace_service.ensure_workspace(conn, workspace)
                principal = Principal(key_id="operator", workspace_id=workspace_id, role=ADMIN)
            authorize(principal.role, permission)
            yield conn, principal
    except NerveError as exc:
        fail(exc, as_json)
