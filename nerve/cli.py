"""The `nerve` command line. Each command opens the services, authorizes, and calls a service."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import uvicorn
from rich.console import Console
from sqlalchemy import Connection

from nerve.auth import service as auth_service
from nerve.auth.roles import ADMIN, Permission, authorize
from nerve.auth.service import Principal
from nerve.db import migrate
from nerve.db.engine import make_engine
from nerve.errors import InvalidFlow, InvalidInput, NerveError
from nerve.services import provide_services
from nerve.settings import get_settings
from nerve.workspaces import service as workspace_service

app = typer.Typer(
    help="Nerve: marketing-automation brain for headless commerce.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
sources_app = typer.Typer(help="Sources: the shop's heads that send events.", no_args_is_help=True)
keys_app = typer.Typer(help="Secret API keys for the admin API.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(sources_app, name="sources")
app.add_typer(keys_app, name="keys")
dlq_app = typer.Typer(help="Dead letters: steps that failed for good.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
flows_app = typer.Typer(
    help="Automation flows: validate, publish, time-travel test.", no_args_is_help=True
)
app.add_typer(flows_app, name="flows")

console = Console()
err_console = Console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
WorkspaceOption = Annotated[str, typer.Option(help="Workspace name.")]


def _emit(as_json: bool, data: dict[str, Any], human: str) -> None:
    if as_json:
        typer.echo(json.dumps(data))
    else:
        console.print(human)


def _fail(error: NerveError, as_json: bool = False) -> NoReturn:
    if as_json:  # `--json` output is one JSON object, errors in the API's shape
        typer.echo(json.dumps({"error": error.as_dict()}))
        raise typer.Exit(code=1)
    err_console.print(f"[red]error[/red] {error.code}: {error.message}")
    if error.details is not None:
        err_console.print(error.details)
    raise typer.Exit(code=1)


@contextmanager
def _session(
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
        _fail(exc, as_json)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int, typer.Option(help="Server processes (PostgreSQL only).")] = 1,
) -> None:
    """Run the HTTP API."""
    settings = get_settings()
    if workers > 1 and settings.is_sqlite:
        _fail(NerveError("several server processes need PostgreSQL; SQLite has one writer"))
    if settings.auto_migrate:
        engine = make_engine(settings)
        migrate.upgrade(engine)
        engine.dispose()
    uvicorn.run(
        "nerve.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers if workers > 1 else None,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=settings.log_level,
        timeout_graceful_shutdown=10,
    )


@app.command()
def worker() -> None:
    """Run background work (identity resolution) until stopped; run many on PostgreSQL."""
    from nerve.worker import run_worker

    run_worker(get_settings())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations."""
    engine = make_engine(get_settings())
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    console.print("database is up to date")


@sources_app.command("create")
def sources_create(
    name: str,
    kind: Annotated[str, typer.Option(help="web, app, kiosk, pos or server")],
    workspace: WorkspaceOption = workspace_service.DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """Create a source and print its write key."""
    with _session(Permission.SOURCES_WRITE, workspace, as_json) as (conn, principal):
        source = workspace_service.create_source(conn, principal.workspace_id, name, kind)
    _emit(
        as_json,
        {"id": source.id, "name": source.name, "kind": source.kind, "write_key": source.write_key},
        f"source [bold]{source.name}[/bold] ({source.kind}) write key: {source.write_key}",
    )


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="admin, builder, analyst or staff")] = "admin",
    workspace: WorkspaceOption = workspace_service.DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """Create a secret API key; it is shown once."""
    with _session(Permission.KEYS_MANAGE, workspace, as_json) as (conn, principal):
        key = auth_service.create_key(conn, principal.workspace_id, role)
    _emit(
        as_json,
        {"id": key.id, "role": key.role, "secret_key": key.secret_key},
        f"{key.role} key (shown once): {key.secret_key}",
    )


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    customers: Annotated[int, typer.Option(help="Simulated customers.")] = 40,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: run until Ctrl-C).")
    ] = None,
    speed: Annotated[
        float | None, typer.Option(help="Run the simulated customers this many times faster.")
    ] = None,
) -> None:
    """Run a demo shop on SQLite with simulated customers on every head."""
    from nerve.demo.service import run_demo

    run_demo(host=host, port=port, customers=customers, duration=duration, speed=speed)


def _read_flow(path: Path, as_json: bool) -> Any:
    from nerve.flows.definition import load

    try:
        return load(path.read_text())
    except OSError as exc:
        _fail(InvalidInput(f"cannot read {path}: {exc.strerror}"), as_json)
    except InvalidFlow as exc:
        _fail(exc, as_json)


@flows_app.command("validate")
def flows_validate(file: Path, as_json: JsonFlag = False) -> None:
    """Check a flow definition against the schema and its own graph."""
    flow = _read_flow(file, as_json)
    _emit(
        as_json,
        {"valid": True, "name": flow.name, "nodes": len(flow.nodes)},
        f"[green]valid[/green] {flow.name}: {len(flow.nodes)} nodes",
    )


@flows_app.command("apply")
def flows_apply(
    file: Path,
    env: Annotated[str, typer.Option("--env", help="staging or production")] = "staging",
    workspace: WorkspaceOption = workspace_service.DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """Publish a flow definition as a new immutable version (unless it is unchanged)."""
    from nerve.flows import engine as flow_engine

    if env not in flow_engine.ENVIRONMENTS:
        _fail(InvalidInput(f"--env must be staging or production, not {env!r}"), as_json)
    flow = _read_flow(file, as_json)
    with _session(Permission.FLOWS_WRITE, workspace, as_json) as (conn, principal):
        published = flow_engine.publish(conn, principal.workspace_id, flow, env)
    version = f"{flow.name} v{published['version']}"
    _emit(
        as_json,
        published,
        f"unchanged: {version} in {env} already has this definition"
        if published["unchanged"]
        else f"published {version} to {env}",
    )


@flows_app.command("test")
def flows_test(
    file: Path,
    events: Annotated[Path, typer.Option(help="Scenario: one Segment event per line (JSONL).")],
    as_json: JsonFlag = False,
) -> None:
    """Time-travel: run the flow on a simulated clock against scripted events."""
    from nerve.flows.simulate import (
        ScenarioError,
        Simulation,
        SimulationBudget,
        read_scenario,
        stopped_json,
        timeline_json,
    )

    flow = _read_flow(file, as_json)
    try:
        scenario = read_scenario(events.read_text())
    except (OSError, ScenarioError) as exc:
        _fail(InvalidInput(f"cannot use {events}: {exc}"), as_json)
    simulation = Simulation(flow, SimulationBudget.configured(get_settings()))
    timeline = simulation.run(scenario)
    if as_json:
        result = {"flow": flow.name, "timeline": timeline_json(timeline)}
        typer.echo(json.dumps(result | {"stopped": stopped_json(simulation.stopped)}))
        return
    for entry in timeline:
        detail = ", ".join(f"{k}={v}" for k, v in entry.detail.items())
        console.print(
            f"{entry.at:%Y-%m-%d %H:%M}  {entry.run:<8} {entry.what}  [dim]{detail}[/dim]"
        )
    if simulation.stopped is not None:  # what happened until then is above
        console.print(f"[yellow]{simulation.stopped.message}[/yellow]")


@flows_app.command("prune")
def flows_prune(
    older_than_days: Annotated[
        float | None,
        typer.Option(
            min=0, help="Delete runs that ended longer ago (default NERVE_FLOW_RUN_RETENTION_DAYS)."
        ),
    ] = None,
    workspace: WorkspaceOption = workspace_service.DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """Delete ended runs with their history, and finished tasks (workers do it every 10 min)."""
    from nerve.flows.retention import Retention

    settings = get_settings()
    days = settings.flow_run_retention_days if older_than_days is None else older_than_days
    retention = Retention(
        runs=timedelta(days=days), tasks=timedelta(days=settings.flow_task_retention_days)
    )
    with _session(Permission.FLOWS_WRITE, workspace, as_json, write=False):
        pass  # authorized; pruning runs its own short transactions
    with provide_services() as services:
        pruned = retention.prune(services.engine)
    _emit(
        as_json,
        vars(pruned),
        f"deleted {pruned.runs} ended run(s), {pruned.steps} step(s), {pruned.tasks} task(s)",
    )


@dlq_app.command("list")
def dlq_list(
    workspace: WorkspaceOption = workspace_service.DEFAULT_WORKSPACE, as_json: JsonFlag = False
) -> None:
    """Dead letters not yet replayed."""
    from nerve.flows import service as flow_service

    with _session(Permission.FLOWS_READ, workspace, as_json, write=False) as (conn, principal):
        letters = flow_service.list_dead_letters(conn, principal.workspace_id)
    if as_json:
        typer.echo(json.dumps({"data": letters}, default=str))
        return
    for letter in letters:
        console.print(
            f"{letter['id']}  run {letter['run_id']}  node {letter['node']}  {letter['error']}"
        )
    console.print(f"{len(letters)} dead letter(s)")


@dlq_app.command("replay")
def dlq_replay(
    dead_letter_id: str,
    workspace: WorkspaceOption = workspace_service.DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """Run a dead-lettered step again, with its original idempotency key."""
    from nerve.flows import service as flow_service

    with _session(Permission.DEAD_LETTERS_REPLAY, workspace, as_json) as (conn, principal):
        result = flow_service.replay(conn, principal.workspace_id, dead_letter_id)
    _emit(as_json, result, f"replaying {dead_letter_id}: task {result['task_id']} is due now")


def main() -> None:  # pragma: no cover
    app()
