"""Tables and progress bars of the identity benchmark."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

console = Console(width=None if sys.stdout.isatty() else 150)


class _SpeedColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:>9,.0f} ev/s" if task.speed else "")


def progress() -> Progress:
    return Progress(
        TextColumn("  {task.description:<8}"),
        BarColumn(),
        MofNCompleteColumn(),
        _SpeedColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=not sys.stdout.isatty(),
    )


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def print_backend(figures: dict[str, Any]) -> None:
    ingest, resolution = figures["ingest"], figures["resolution"]
    graph, merge = figures["graph"], figures["merge_latency"]
    table = Table(title=f"{figures['backend']}: identity resolution", show_header=False)
    table.add_column("what")
    table.add_column("figure", justify="right")
    table.add_column("note")
    table.add_row(
        "ingest events/s",
        _rate(ingest["events_per_second"]),
        f"{ingest['events']:,} events, normalise + insert, {ingest['chunk']:,} per commit"
        + ("" if ingest["complete"] else f" [red]PARTIAL of {ingest['planned_events']:,}[/red]"),
    )
    table.add_row(
        "  insert only", _rate(ingest["insert_only_events_per_second"]), "executemany + COMMIT"
    )
    table.add_row(
        "resolution events/s",
        _rate(resolution["events_per_second"]),
        f"{resolution['events']:,} events in {resolution['seconds']:,.0f} s, "
        f"{resolution['batch']} per call"
        + (
            ""
            if resolution["complete"]
            else f" [red]PARTIAL: budget spent, {resolution['pending_at_start']:,} pending[/red]"
        )
        + (" [yellow](profiled: slowed down)[/yellow]" if resolution["profiled"] else ""),
    )
    table.add_row(
        "  first / last tenth",
        f"{_rate(resolution['first_tenth_events_per_second'])} / "
        f"{_rate(resolution['last_tenth_events_per_second'])}",
        "events/s over the first and last 10 % of the events resolved",
    )
    table.add_row("resolution ÷ ingest", f"{ratio(figures):.3f}", "")
    if "postgres" in figures:
        table.add_row("  PostgreSQL autovacuum", *_autovacuum(figures))
    for phase in ("ingest", "resolution"):
        table.add_row(f"  CPU during {phase}", *_cpu(figures[phase]["cpu_percent"]))
    expected = graph["expected_persons"]
    table.add_row(
        "profiles / persons",
        f"{graph['profiles']:,} / {graph['persons']:,}",
        "persons = merge-tree roots"
        + ("" if expected is None else f"; the stream implies {expected:,}")
        + ("" if expected in (None, graph["persons"]) else " [red]MISMATCH[/red]"),
    )
    merges = graph["merges"]
    table.add_row(
        "merges merged / rejected / relinked",
        f"{merges['merged']:,} / {merges['rejected']:,} / {merges['relinked']:,}",
        f"{graph['stream']['kiosk_sessions']:,} kiosk sign-ins",
    )
    table.add_row(
        "merge latency p50 / p99",
        f"{merge['p50_ms']:.1f} / {merge['p99_ms']:.1f} ms",
        f"{merge['repeats']} merges of a {merge['merge_events']:,}-event anonymous profile"
        + ("" if merge["all_merged"] else " [red]NOT ALL MERGED[/red]"),
    )
    table.add_row(
        "  one-profile backlog events/s",
        _rate(merge["backlog_events_per_second"]),
        "resolving the anonymous profile's events before the merge",
    )
    table.add_row(
        "  SQL in the merging call",
        f"{merge['sql_ms_per_merge']:.1f} ms",
        f"mean over the merges; {merge['statements_per_merge']} statements",
    )
    for statement, ms in merge["slowest_statements_ms"].items():
        table.add_row("", f"{ms:.1f} ms", statement[:70])
    table.add_row("  person view after merge p50", f"{merge['person_view_p50_ms']:.1f} ms", "")
    console.print(table)
    _print_profile(resolution)


def _autovacuum(figures: dict[str, Any]) -> tuple[str, str]:
    setting, stand_in = figures["postgres"]["autovacuum"], figures["autovacuum_stand_in"]
    if not stand_in["active"]:
        return setting, "" if setting == "on" else "[red]off, and no stand-in: no statistics[/red]"
    return (
        f"{setting} on the server",
        f"stand-in VACUUM (ANALYZE) every {stand_in['every_seconds']:g} s ran {stand_in['runs']} "
        f"times, {stand_in['seconds']:.0f} s in all (concurrently)",
    )


def _cpu(shares: dict[str, float]) -> tuple[str, str]:
    """The shares in % of one core; other processes taking a core make the figures weaker."""
    other = shares["other"]
    warning = " [red]the machine was shared[/red]" if other > 25 else ""
    return (
        f"{shares['bench']:.0f} %",
        f"this process; PostgreSQL backends {shares['postgres_backends']:.0f} %, "
        f"other processes {other:.0f} % (of one core){warning}",
    )


def ratio(figures: dict[str, Any]) -> float:
    resolved = figures["resolution"]["events_per_second"] or 0.0
    return float(resolved / figures["ingest"]["events_per_second"])


def _print_profile(resolution: dict[str, Any]) -> None:
    sql = resolution["sql"]
    table = Table(
        title=f"SQL during resolution: {sql['statements']:,} statements "
        f"({sql['statements_per_batch']} per batch, {sql['parameter_sets_per_event']} parameter "
        f"sets per event), {100 * sql['share_of_wall']:.0f} % of wall time in cursor execute",
    )
    for column in ("statement", "calls/batch", "rows/event", "s", "% wall"):
        table.add_column(column, justify="left" if column == "statement" else "right")
    for row in sql["top"]:
        table.add_row(
            row["statement"][:100],
            f"{row['per_batch']}",
            f"{row['rows_per_event']}",
            f"{row['seconds']:.2f}",
            f"{100 * row['share_of_wall']:.1f}",
        )
    console.print(table)
    spy = resolution.get("py_spy")
    if spy is None:
        return
    if "error" in spy:
        console.print(f"[red]py-spy failed:[/red] {spy['error']}")
        return
    console.print(f"  py-spy: {spy['samples']:,} samples in resolve_pending → {spy['raw_file']}")
    for key, title in (("layers", "layer"), ("self", "self time"), ("inclusive", "inclusive")):
        frames = Table(title=f"py-spy: {title}")
        frames.add_column("%", justify="right")
        frames.add_column("frame")
        for row in spy[key]:
            frames.add_row(f"{row['percent']:.1f}", row["frame"])
        console.print(frames)


def print_comparison(backends: dict[str, dict[str, Any]]) -> None:
    table = Table(title="identity resolution, all backends")
    for column in (
        "backend", "events", "ingest ev/s", "resolve ev/s", "resolve ÷ ingest", "persons",
        "merged", "merge p50 ms", "merge p99 ms",
    ):  # fmt: skip
        table.add_column(column, justify="left" if column == "backend" else "right")
    for name, figures in backends.items():
        resolution = figures["resolution"]
        table.add_row(
            name,
            f"{resolution['events']:,}" + ("" if resolution["complete"] else " (partial)"),
            _rate(figures["ingest"]["events_per_second"]),
            _rate(resolution["events_per_second"]),
            f"{ratio(figures):.3f}",
            f"{figures['graph']['persons']:,}",
            f"{figures['graph']['merges']['merged']:,}",
            f"{figures['merge_latency']['p50_ms']:.1f}",
            f"{figures['merge_latency']['p99_ms']:.1f}",
        )
    console.print(table)
