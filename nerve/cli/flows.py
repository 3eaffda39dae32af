"""`nerve flows`: check, publish, time-travel test and prune automation flows."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from nerve.auth.roles import Permission
from nerve.cli.output import (
    DEFAULT_WORKSPACE,
    JsonFlag,
    WorkspaceOption,
    console,
    echo_json,
    emit,
    fail,
)
from nerve.cli.session import authorized, session
from nerve.errors import InvalidFlow, InvalidInput
from nerve.settings import get_settings

app = typer.Typer(
    help="Automation flows: validate, publish, time-travel test.", no_args_is_help=True
)


def _read_flow(path: Path, as_json: bool) -> Any:
    """The flow in `path`, checked as a draft: webhook targets under this process's outbound
    policy (NERVE_OUTBOUND_ALLOW), as the workers will call them."""
    from nerve.flows.definition import load
    from nerve.outbound.policy import OutboundPolicy

    try:
        return load(path.read_text(), OutboundPolicy.configured(get_settings()))
    except OSError as exc:
        fail(InvalidInput(f"cannot read {path}: {exc.strerror}"), as_json)
    except InvalidFlow as exc:
        fail(exc, as_json)


@app.command("validate")
def validate(file: Path, as_json: JsonFlag = False) -> None:
    """Check a flow definition against the schema and its own graph."""
    flow = _read_flow(file, as_json)
    emit(
        as_json,
        {"valid": True, "name": flow.name, "nodes": len(flow.nodes)},
        f"[green]valid[/green] {flow.name}: {len(flow.nodes)} nodes",
    )


@app.command("apply")
def apply(
    file: Path,
    env: Annotated[str, typer.Option("--env", help="staging or production")] = "staging",
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """Publish a flow definition as a new immutable version (unless it is unchanged)."""
    from nerve.flows import engine as flow_engine
    from nerve.flows import versions as flow_versions

    if env not in flow_engine.ENVIRONMENTS:
        fail(InvalidInput(f"--env must be staging or production, not {env!r}"), as_json)
    flow = _read_flow(file, as_json)
    with session(Permission.FLOWS_WRITE, workspace, as_json) as (conn, principal):
        published = flow_versions.publish(conn, principal.workspace_id, flow, env)
    version = f"{flow.name} v{published['version']}"
    emit(
        as_json,
        published,
        f"unchanged: {version} in {env} already has this definition"
        if published["unchanged"]
        else f"published {version} to {env}",
    )


@app.command("test")
def test(
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
        simulation = Simulation(flow, SimulationBudget.configured(get_settings()))
        timeline = simulation.run(scenario)
    except (OSError, ScenarioError) as exc:
        fail(InvalidInput(f"cannot use {events}: {exc}"), as_json)
    if as_json:
        result = {"flow": flow.name, "timeline": timeline_json(timeline)}
        echo_json(result | {"stopped": stopped_json(simulation.stopped)})
        return
    for entry in timeline:
        detail = ", ".join(f"{k}={v}" for k, v in entry.detail.items())
        console.print(
            f"{entry.at:%Y-%m-%d %H:%M}  {entry.run:<8} {entry.what}  [dim]{escape(detail)}[/dim]"
        )
    if simulation.stopped is not None:  # what happened until then is above
        console.print(f"[yellow]{escape(simulation.stopped.message)}[/yellow]")


@app.command("prune")
def prune(
    older_than_days: Annotated[
        float | None,
        typer.Option(
            min=0, help="Delete runs that ended longer ago (default NERVE_FLOW_RUN_RETENTION_DAYS)."
        ),
    ] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """Delete ended runs with their history, and finished tasks (workers do it every 10 min)."""
    from nerve.flows.retention import Retention

    settings = get_settings()
    days = settings.flow_run_retention_days if older_than_days is None else older_than_days
    retention = Retention(
        runs=timedelta(days=days), tasks=timedelta(days=settings.flow_task_retention_days)
    )
    # Pruning runs its own short transactions, so no transaction stays open around it.
    with authorized(Permission.FLOWS_WRITE, workspace, as_json) as (services, _):
        pruned = retention.prune(services.engine)
    emit(
        as_json,
        vars(pruned),
        f"deleted {pruned.runs} ended run(s), {pruned.steps} step(s), {pruned.tasks} task(s)",
    )
