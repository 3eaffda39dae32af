"""`nerve dlq`: dead letters, the steps that failed for good, and their replay."""

from __future__ import annotations

import typer
from rich.markup import escape

from nerve.auth.roles import Permission
from nerve.cli.output import DEFAULT_WORKSPACE, JsonFlag, WorkspaceOption, console, echo_json, emit
from nerve.cli.session import session

app = typer.Typer(help="Dead letters: steps that failed for good.", no_args_is_help=True)


@app.command("list")
def list_dead_letters(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False
) -> None:
    """Dead letters not yet replayed."""
    from nerve.flows import service as flow_service

    with session(Permission.FLOWS_READ, workspace, as_json, write=False) as (conn, principal):
        letters = flow_service.list_dead_letters(conn, principal.workspace_id)
    if as_json:
        echo_json({"data": letters})
        return
    for letter in letters:
        console.print(
            f"{letter['id']}  run {letter['run_id']}  node {letter['node']}  "
            + escape(str(letter["error"]))
        )
    console.print(f"{len(letters)} dead letter(s)")


@app.command("replay")
def replay(
    dead_letter_id: str,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """Run a dead-lettered step again, with its original idempotency key."""
    from nerve.flows import service as flow_service

    with session(Permission.DEAD_LETTERS_REPLAY, workspace, as_json) as (conn, principal):
        result = flow_service.replay(conn, principal.workspace_id, dead_letter_id)
    emit(as_json, result, f"replaying {dead_letter_id}: task {result['task_id']} is due now")
