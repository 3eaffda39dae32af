"""`nerve broadcasts`: start a flow for every member of its segment (its audience shown first,
confirmed unless --yes), follow it with a progress bar, list, pause, resume and cancel."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from nerve.auth.roles import Permission
from nerve.cli.output import DEFAULT_WORKSPACE, JsonFlag, WorkspaceOption, console, emit, fail
from nerve.cli.session import authorized, session
from nerve.errors import InvalidInput

app = typer.Typer(
    help="Broadcasts: a flow started for every member of a segment.", no_args_is_help=True
)
EnvOption = Annotated[str, typer.Option("--env", help="staging or production")]
_ENDED = ("done", "cancelled")


def _line(b: dict[str, Any]) -> str:
    audience = "?" if b["audience"] is None else f"{b['audience']:,}"
    return (f"{b['id']}  {b['flow']}  {b['status']}  {b['entered']:,} entered, "
            f"{b['skipped']:,} skipped of {audience} ({b['percent']}%)")  # fmt: skip


def _at(value: str | None, as_json: bool) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        fail(InvalidInput(f"--at must be an ISO time such as 2027-03-01T08:00Z, not {value!r}"),
             as_json)  # fmt: skip
    if at.tzinfo is None:
        fail(InvalidInput("--at needs its offset, e.g. 2027-03-01T08:00Z"), as_json)
    return at


@app.command("start")
def start(
    flow: str,
    at: Annotated[str | None, typer.Option(help="Start then (ISO, with offset); else now")] = None,
    env: EnvOption = "production",
    yes: Annotated[bool, typer.Option("--yes", help="Start without asking")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Follow it with a progress bar")] = False,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """Show the audience (the blast radius), ask, then start FLOW for every member."""
    from nerve.flows.broadcasts import service

    when = _at(at, as_json)
    if env not in ("staging", "production"):
        fail(InvalidInput(f"--env must be staging or production, not {env!r}"), as_json)
    if as_json and not yes:
        fail(InvalidInput("--json does not ask: add --yes to start"), as_json)
    with session(Permission.BROADCASTS_SEND, workspace, as_json) as (conn, principal):
        radius = service.preview(conn, principal.workspace_id, flow, env, None)
        if not yes:
            console.print(f"{flow} goes to [bold]{radius['audience']:,}[/bold] members of "
                          f"{radius['segment']} (about {radius['estimated_runs']:,} pass its "
                          "condition)")  # fmt: skip
            typer.confirm("Start it?", abort=True)
        started = service.start(conn, principal.workspace_id, flow, env, when, principal.key_id)
    if wait and started["status"] != "scheduled":
        started = _follow(started["id"], workspace, as_json)
    emit(as_json, started, _line(started))


def _follow(broadcast_id: str, workspace: str, as_json: bool) -> dict[str, Any]:
    """Poll the broadcast until it is done, cancelled or paused (a worker does the work)."""
    from nerve.flows.broadcasts import service

    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=as_json,
        transient=True,
    )
    with authorized(Permission.FLOWS_READ, workspace, as_json) as (services, principal), bar:
        task = bar.add_task(f"broadcast {broadcast_id}", total=None)
        while True:
            with services.read() as conn:
                now = service.get(conn, principal.workspace_id, broadcast_id)
            bar.update(task, total=now["audience"], completed=now["entered"] + now["skipped"])
            if now["status"] in (*_ENDED, "paused"):
                return now
            time.sleep(0.5)


@app.command("list")
def list_broadcasts(
    flow: str, workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False
) -> None:
    """FLOW's broadcasts, newest first, with their progress."""
    from nerve.flows.broadcasts import service

    with session(Permission.FLOWS_READ, workspace, as_json, write=False) as (conn, principal):
        found = service.list_for_flow(conn, principal.workspace_id, flow, 100)
    emit(as_json, {"data": found}, "\n".join(_line(b) for b in found) or "no broadcasts")


def _control(action: str, broadcast_id: str, workspace: str, as_json: bool) -> None:
    from nerve.flows.broadcasts import service

    with session(Permission.BROADCASTS_SEND, workspace, as_json) as (conn, principal):
        changed = getattr(service, action)(conn, principal.workspace_id, broadcast_id,
                                           principal.key_id)  # fmt: skip
    emit(as_json, changed, _line(changed))


@app.command("pause")
def pause(
    broadcast_id: str, workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False
) -> None:
    """Nobody new enters until resumed."""
    _control("pause", broadcast_id, workspace, as_json)


@app.command("resume")
def resume(
    broadcast_id: str, workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False
) -> None:
    """Go on where it paused."""
    _control("resume", broadcast_id, workspace, as_json)


@app.command("cancel")
def cancel(
    broadcast_id: str, workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False
) -> None:
    """Stop for good; its runs that still wait end as cancelled."""
    _control("cancel", broadcast_id, workspace, as_json)
