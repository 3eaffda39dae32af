"""`nerve sources`: the shop's heads that send events, and their write keys."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from nerve.auth.roles import Permission
from nerve.cli.output import DEFAULT_WORKSPACE, JsonFlag, WorkspaceOption, console, echo_json, emit
from nerve.cli.session import session
from nerve.workspaces import service as workspace_service
from nerve.workspaces.service import SourceInfo

app = typer.Typer(help="Sources: the shop's heads that send events.", no_args_is_help=True)

SourceArgument = Annotated[str, typer.Argument(help="The source's name or id.")]


def _as_json(source: SourceInfo) -> dict[str, Any]:
    revoked_at = source.write_key_revoked_at
    return {
        "id": source.id,
        "name": source.name,
        "kind": source.kind,
        "write_key": source.write_key,
        "write_key_revoked_at": revoked_at.isoformat() if revoked_at else None,
    }


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
        _as_json(source),
        f"source [bold]{escape(source.name)}[/bold] ({source.kind}) write key: {source.write_key}",
    )


@app.command("list")
def list_sources(workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False) -> None:
    """The workspace's sources with their write keys."""
    with session(Permission.SOURCES_READ, workspace, as_json, write=False) as (conn, principal):
        sources = workspace_service.list_sources(conn, principal.workspace_id)
    if as_json:
        echo_json({"data": [_as_json(source) for source in sources]})
        return
    table = Table(
        "id", "name", "kind", "write key", "status", box=None, pad_edge=False, highlight=False
    )
    for source in sources:
        revoked_at = source.write_key_revoked_at
        status = f"revoked {revoked_at:%Y-%m-%d %H:%M} UTC" if revoked_at else "active"
        table.add_row(source.id, escape(source.name), source.kind, source.write_key, status)
    console.print(table)
    console.print(f"{len(sources)} source(s)")


@app.command("revoke")
def revoke(
    source: SourceArgument,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """Refuse the source's events from now on (every server within a second); `rotate` gives
    it a new write key."""
    with session(Permission.SOURCES_WRITE, workspace, as_json) as (conn, principal):
        revoked = workspace_service.revoke_write_key(
            conn, principal.workspace_id, source, actor=principal.key_id
        )
    emit(
        as_json,
        _as_json(revoked),
        f"write key of [bold]{escape(revoked.name)}[/bold] revoked: its events are refused",
    )


@app.command("rotate")
def rotate(
    source: SourceArgument,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """Give the source a new write key; the old one is refused from now on (every server
    within a second)."""
    with session(Permission.SOURCES_WRITE, workspace, as_json) as (conn, principal):
        rotated = workspace_service.rotate_write_key(
            conn, principal.workspace_id, source, actor=principal.key_id
        )
    emit(
        as_json,
        _as_json(rotated),
        f"source [bold]{escape(rotated.name)}[/bold] new write key: {rotated.write_key}",
    )
