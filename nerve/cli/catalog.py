"""`nerve catalog`: import products (or stock) from NDJSON or CSV with a progress bar,
resumable; the catalog quality report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from nerve.auth.roles import Permission
from nerve.cli.output import DEFAULT_WORKSPACE, JsonFlag, WorkspaceOption, console, emit, fail
from nerve.cli.session import authorized, session
from nerve.errors import InvalidInput

app = typer.Typer(help="The catalog: import products and stock, check quality.",
                  no_args_is_help=True)  # fmt: skip


@app.command("import")
def import_catalog(
    file: Annotated[
        Path,
        typer.Argument(
            help="NDJSON (one product per line) or CSV with a header; by extension unless --format"
        ),
    ],
    fmt: Annotated[
        Literal["ndjson", "csv"] | None,
        typer.Option("--format", help="ndjson or csv (default: by the file's extension)"),
    ] = None,
    inventory: Annotated[
        bool,
        typer.Option(
            "--inventory", help="The file holds stock changes (sku, location, on_hand, ...)"
        ),
    ] = False,
    batch: Annotated[int, typer.Option(min=1, max=100_000, help="Commit every N lines")] = 1000,
    restart: Annotated[
        bool,
        typer.Option(
            help="Import from the first line again, even if this file was imported before"
        ),
    ] = False,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """Upsert products by sku from FILE, committing every --batch lines. Bad lines are reported
    with their numbers and reasons while the good ones apply. Run it again after a crash or
    Ctrl-C: it continues after the last committed line (the file is known by its content)."""
    from nerve.catalog import imports

    if not file.is_file():
        fail(InvalidInput(f"cannot read {file}: no such file"), as_json)
    with authorized(Permission.CATALOG_WRITE, workspace, as_json) as (services, principal):
        size = file.stat().st_size
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                      TaskProgressColumn(), TimeRemainingColumn(), console=console,
                      disable=as_json, transient=True) as bar:  # fmt: skip
            task = bar.add_task(f"importing {escape(file.name)}", total=size)
            done = imports.import_file(
                services.engine, principal.workspace_id, file, fmt=fmt, batch=batch,
                restart=restart, kind="inventory" if inventory else "products",
                on_progress=lambda at: bar.update(task, completed=at),
            )  # fmt: skip
    outcome = done.outcome
    result = {"file": str(file), "lines": done.lines_done, "applied": outcome.applied,
              "changed": outcome.changed, "events": outcome.events,
              "failed_count": done.failed_count, "failed": outcome.failed,
              "resumed": done.resumed}  # fmt: skip
    lines = [
        f"{outcome.applied} applied ({outcome.changed} changed), {done.failed_count} "
        f"failed, {outcome.events} events" + (" (resumed)" if done.resumed else "")
    ]
    lines += [f"  line {f['line']}: {escape(str(f['reason']))}" for f in outcome.failed[:50]]
    emit(as_json, result, "\n".join(lines))


@app.command("quality")
def quality(workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False) -> None:
    """Products missing an image, alt text, GTIN or category, and attribute values spelled
    several ways within a category."""
    from nerve.catalog import quality as catalog_quality

    with session(Permission.CATALOG_READ, workspace, as_json, write=False) as (conn, principal):
        report = catalog_quality.report(conn, principal.workspace_id)
    lines = [f"{report['products']} products checked"]
    for check, count in report["missing"].items():
        skus = ", ".join(report["missing_skus"][check][:10])
        lines.append(f"  missing {check}: {count}" + (f" ({escape(skus)}, ...)" if count else ""))
    for clash in report["inconsistent_attributes"]:
        spellings = ", ".join(f"{k!r} x{v}" for k, v in clash["spellings"].items())
        lines.append(f"  {escape(str(clash['category']))} / {escape(clash['attribute'])}: "
                     f"{escape(spellings)} -> {escape(clash['suggested'])}")  # fmt: skip
    emit(as_json, report, "\n".join(lines))
