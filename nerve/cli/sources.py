"""`nerve sources`: the shop's heads that send events, and their write keys."""

from __future__ import annotations

from typing import Annotated

import typer

from nerve.auth.roles import Permission
from nerve.cli.output import DEFAULT_WORKSPACE, JsonFlag, WorkspaceOption, emit
from nerve.cli.session import session
from nerve.workspaces import service as workspace_service

app = typer.Typer(help="Sources: the shop's heads that send events.", no_args_is_help=True)


@app.command("create")
def create(
    name: str,
    kind: Annotated[str, typer.Option(help="web, app, kiosk, pos or server")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """Create a source and print its write key."""
    with session(Permission.SOURCES_WRITE, workspace, as_json) as (conn, principal):
        source = workspace_service.create_source(conn, principal.workspace_id, name, kind)
    emit(
        as_json,
        {"id": source.id, "name": source.name, "kind": source.kind, "write_key": source.write_key},
        f"source [bold]{source.name}[/bold] ({source.kind}) write key: {source.write_key}",
    )
