"""`nerve keys`: secret API keys for the admin API."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from nerve.auth import service as auth_service
from nerve.auth.roles import Permission
from nerve.auth.service import CreatedKey, KeyInfo
from nerve.cli.output import DEFAULT_WORKSPACE, JsonFlag, WorkspaceOption, console, echo_json, emit
from nerve.cli.session import session

app = typer.Typer(help="Secret API keys for the admin API.", no_args_is_help=True)

KeyArgument = Annotated[str, typer.Argument(help="The key's id (`nerve keys list`).")]


def _created_json(key: CreatedKey) -> dict[str, Any]:
    return {"id": key.id, "role": key.role, "secret_key": key.secret_key, "replaces": key.replaces}


def _info_json(key: KeyInfo) -> dict[str, Any]:
    return {
        "id": key.id,
        "role": key.role,
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


@app.command("create")
def create(
    role: Annotated[str, typer.Option(help="admin, builder, analyst or staff")] = "admin",
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """Create a secret API key; it is shown once."""
    with session(Permission.KEYS_MANAGE, workspace, as_json) as (conn, principal):
        key = auth_service.create_key(conn, principal.workspace_id, role, actor=principal.key_id)
    emit(as_json, _created_json(key), f"{key.role} key (shown once): {key.secret_key}")


@app.command("list")
def list_keys(workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False) -> None:
    """The workspace's keys with their role, revoked ones too; never a secret."""
    with session(Permission.KEYS_MANAGE, workspace, as_json, write=False) as (conn, principal):
        keys = auth_service.list_keys(conn, principal.workspace_id)
    if as_json:
        echo_json({"data": [_info_json(key) for key in keys]})
        return
    table = Table("id", "role", "created", "revoked", box=None, pad_edge=False, highlight=False)
    for key in keys:
        revoked = f"{key.revoked_at:%Y-%m-%d %H:%M} UTC" if key.revoked_at else "-"
        table.add_row(key.id, key.role, f"{key.created_at:%Y-%m-%d %H:%M} UTC", revoked)
    console.print(table)
    console.print(f"{len(keys)} key(s)")


@app.command("revoke")
def revoke(
    key_id: KeyArgument, workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False
) -> None:
    """Refuse the key from now on, in every server at once."""
    with session(Permission.KEYS_MANAGE, workspace, as_json) as (conn, principal):
        key = auth_service.revoke_key(conn, principal.workspace_id, key_id, actor=principal.key_id)
    emit(as_json, _info_json(key), f"{key.role} key {key.id} revoked")


@app.command("rotate")
def rotate(
    key_id: KeyArgument, workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False
) -> None:
    """A new key with the same role (shown once); the old one is revoked."""
    with session(Permission.KEYS_MANAGE, workspace, as_json) as (conn, principal):
        key = auth_service.rotate_key(conn, principal.workspace_id, key_id, actor=principal.key_id)
    emit(
        as_json,
        _created_json(key),
        f"{key_id} revoked; new {key.role} key (shown once): {key.secret_key}",
    )
