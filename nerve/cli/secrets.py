"""`nerve secrets`: the shop's credentials, encrypted with NERVE_SECRET_KEY; never shown again."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from nerve.auth.roles import Permission
from nerve.cli.output import DEFAULT_WORKSPACE, JsonFlag, WorkspaceOption, console, echo_json, emit
from nerve.cli.session import authorized
from nerve.secrets import service
from nerve.secrets.service import SecretInfo
from nerve.secrets.vault import new_key

app = typer.Typer(help="Secrets (SMTP password, DKIM keys): write-only.", no_args_is_help=True)

NameArgument = Annotated[str, typer.Argument(help="Such as smtp.password or dkim.shop.example")]


def _json(info: SecretInfo) -> dict[str, Any]:
    return {"name": info.name, "created_at": info.created_at.isoformat(),
            "updated_at": info.updated_at.isoformat()}  # fmt: skip


@app.command("new-key")
def new_key_command(as_json: JsonFlag = False) -> None:
    """Print a fresh key for NERVE_SECRET_KEY (nothing is stored)."""
    key = new_key()
    emit(as_json, {"secret_key": key}, key)


@app.command("set")
def set_secret(
    name: NameArgument,
    from_file: Annotated[
        Path | None, typer.Option(help="Read the value from this file (a DKIM key's PEM).")
    ] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """Store a secret read from standard input or --from-file — never from the command line,
    where the shell's history and `ps` would keep it."""
    if from_file is not None:
        value = from_file.read_text()
    elif sys.stdin.isatty():
        value = typer.prompt(f"value of {name}", hide_input=True)
    else:
        value = sys.stdin.read()
    value = value.removesuffix("\n")
    with (
        authorized(Permission.SECRETS_MANAGE, workspace, as_json) as (services, principal),
        services.write() as conn,
    ):
        info = service.put(
            conn, services.vault, principal.workspace_id, name, value, actor=principal.key_id
        )
    emit(as_json, _json(info), f"secret {info.name} stored")


@app.command("list")
def list_secrets(workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False) -> None:
    """The names of the stored secrets, never their values."""
    with (
        authorized(Permission.SECRETS_MANAGE, workspace, as_json) as (services, principal),
        services.read() as conn,
    ):
        found = service.listed(conn, principal.workspace_id)
    if as_json:
        echo_json({"data": [_json(info) for info in found]})
        return
    table = Table("name", "set", box=None, pad_edge=False, highlight=False)
    for info in found:
        table.add_row(info.name, f"{info.updated_at:%Y-%m-%d %H:%M} UTC")
    console.print(table)
    console.print(f"{len(found)} secret(s)")


@app.command("delete")
def delete_secret(
    name: NameArgument, workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False
) -> None:
    """Forget a secret."""
    with (
        authorized(Permission.SECRETS_MANAGE, workspace, as_json) as (services, principal),
        services.write() as conn,
    ):
        service.remove(conn, principal.workspace_id, name, actor=principal.key_id)
    emit(as_json, {"name": name, "deleted": True}, f"secret {name} deleted")


@app.command("rotate")
def rotate(workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False) -> None:
    """Re-encrypt every stored secret under NERVE_SECRET_KEY's first key (after putting a new
    key first); then the old keys can be dropped."""
    with (
        authorized(Permission.SECRETS_MANAGE, workspace, as_json) as (services, _principal),
        services.write() as conn,
    ):
        count = service.rotate(conn, services.vault)
    emit(as_json, {"rotated": count}, f"{count} secret(s) re-encrypted under the first key")
