"""`nerve recommendations`: train now (with its steps on screen), and see the latest runs."""

from __future__ import annotations

from typing import Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from nerve.auth.roles import Permission
from nerve.cli.output import DEFAULT_WORKSPACE, JsonFlag, WorkspaceOption, console, emit
from nerve.cli.session import authorized, session

app = typer.Typer(help="Recommendations: train them, see their runs.", no_args_is_help=True)


@app.command("train")
def train(workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False) -> None:
    """Train the workspace's recommendations now (workers also do it on their schedule,
    NERVE_RECOMMENDATIONS_RETRAIN_MINUTES): read orders, carts and views, compute the
    neighbours and the model, replace the stored ones."""
    from nerve.recommendations import training

    bar = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), TimeElapsedColumn(),
                   console=console, disable=as_json, transient=True)  # fmt: skip
    with authorized(Permission.RECOMMENDATIONS_WRITE, workspace, as_json) as (services, who), bar:
        task = bar.add_task("training", total=None)
        run = training.train(
            services.engine, who.workspace_id,
            progress=lambda step: bar.update(task, description=f"training: {step}"),
        )  # fmt: skip
    counts, seconds = run["counts"], run["metrics"]["seconds"]
    result = {"id": run["id"], "model": run["model"], "status": run["status"],
              "counts": counts, "metrics": run["metrics"]}  # fmt: skip
    emit(as_json, result,
         f"trained run {run['id']} ({run['model']}) in {seconds['total']} s: "
         f"{counts['items']} products, {counts['people']} people, {counts['orders']} orders, "
         f"{counts['views']} views, {counts['rows']} rows stored")  # fmt: skip


@app.command("runs")
def runs(workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False) -> None:
    """The latest training runs and when the next is due."""
    from nerve.recommendations import service

    with session(Permission.RECOMMENDATIONS_READ, workspace, as_json, write=False) as (conn, who):
        status: dict[str, Any] = service.training_status(conn, who.workspace_id)
    lines = [f"next: {status['due_at'] or 'not scheduled'}"] + [
        f"{r['id']}  {r['trained_at']:%Y-%m-%d %H:%M:%S}  {r['status']}  {r['model']}  "
        f"{r['counts'].get('orders', 0)} orders  "
        f"{r['metrics'].get('seconds', {}).get('total', '-')} s"
        for r in status["runs"]
    ]
    emit(as_json, _jsonable(status), "\n".join(lines))


def _jsonable(status: dict[str, Any]) -> dict[str, Any]:
    from nerve.recommendations.schemas import TrainingStatus

    return TrainingStatus.model_validate(status).model_dump(mode="json")
