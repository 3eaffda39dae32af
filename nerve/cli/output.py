"""What every command prints: its result (human or one JSON object) and its errors."""

from __future__ import annotations

import json
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from nerve.errors import NerveError
from nerve.workspaces import service as workspace_service

console = Console()
err_console = Console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
WorkspaceOption = Annotated[str, typer.Option(help="Workspace name.")]
DEFAULT_WORKSPACE = workspace_service.DEFAULT_WORKSPACE


def emit(as_json: bool, data: dict[str, Any], human: str) -> None:
    if as_json:
        typer.echo(json.dumps(data))
    else:
        console.print(human)


def fail(error: NerveError, as_json: bool = False) -> NoReturn:
    if as_json:  # `--json` output is one JSON object, errors in the API's shape
        typer.echo(json.dumps({"error": error.as_dict()}))
        raise typer.Exit(code=1)
    err_console.print(f"[red]error[/red] {error.code}: {error.message}")
    if error.details is not None:
        err_console.print(error.details)
    raise typer.Exit(code=1)
