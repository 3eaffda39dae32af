"""`nerve keys`: secret API keys for the admin API."""

from __future__ import annotations

from typing import Annotated

import typer

from nerve.auth import service as auth_service
from nerve.auth.roles import Permission
from nerve.cli.output import DEFAULT_WORKSPACE, JsonFlag, WorkspaceOption, emit
from nerve.cli.session import session

app = typer.Typer(help="Secret API keys for the admin API.", no_args_is_help=True)


@app.command("create")
def create(
    role: Annotated[str, typer.Option(help="admin, builder, analyst or staff")] = "admin",
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """Create a secret API key; it is shown once."""
    with session(Permission.KEYS_MANAGE, workspace, as_json) as (conn, principal):
        key = auth_service.create_key(conn, principal.workspace_id, role)
    emit(
        as_json,
        {"id": key.id, "role": key.role, "secret_key": key.secret_key},
        f"{key.role} key (shown once): {key.secret_key}",
    )
