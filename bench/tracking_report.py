"""The tracking benchmark's tables: one per backend, from the same dict that goes to JSON."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

# The server's default durability (NERVE_SQLITE_SYNCHRONOUS=FULL; PostgreSQL's default commit).
_SERVER_DURABILITY = {"sqlite": "synchronous=FULL", "postgresql": "synchronous_commit=on"}


def _server_reference(figures: dict[str, Any], size: int | None = None) -> dict[str, Any] | None:
    """The reference run with the server's durability at `size` (default: the largest size)."""
    same = [
        r for r in figures["reference"] if r["durability"] == _SERVER_DURABILITY[figures["backend"]]
    ]
    if size is not None:
        same = [r for r in same if r["events_per_commit"] == size]
    return max(same, key=lambda r: r["events_per_commit"], default=None)


def ratios(figures: dict[str, Any]) -> dict[str, float | None]:
    runs = figures["runs"]

    def rate(name: str, key: str = "requests_per_second") -> float | None:
        run = runs.get(name)
        if run is None:
            return None
        value: float = run["wrk"][key] if key in run["wrk"] else run[key]
        return value

    def divide(top: float | None, bottom: float | None) -> float | None:
        return top / bottom if top is not None and bottom else None

    def reference_rate(size: int | None) -> float | None:
        reference = _server_reference(figures, size)
        return None if reference is None else float(reference["events_per_second"])

    batch_events = rate("batch", "events_per_second")
    return {
        "track_over_ping_requests": divide(rate("track"), rate("ping")),
        "batch_over_batch_ping_requests": divide(rate("batch"), rate("batch→ping")),
        "batch_over_reference_events": divide(batch_events, reference_rate(None)),
        "batch_over_reference_100_events": divide(batch_events, reference_rate(100)),
    }


def print_backend(console: Console, figures: dict[str, Any]) -> None:
    console.print(_runs_table(figures))
    console.print(_reference_table(figures))
    _print_ratios(console, figures)


def _runs_table(figures: dict[str, Any]) -> Table:
    table = Table(
        title=f"{figures['backend']}: nerve serve (workers: {figures['workers']})",
        caption="CPU columns: % of one core during the run (wrk, nerve serve and its workers, "
        "all postgres processes, everything else, idle)",
    )
    repeated = any(run["repeats"] > 1 for run in figures["runs"].values())
    table.add_column("run", no_wrap=True)
    table.add_column("req/s", justify="right")
    if repeated:
        table.add_column("slowest", justify="right")
    for column in ("events/s", "p50 ms", "p99 ms", "ev/commit", "stored", "resolved/s"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("stored check", no_wrap=True)
    for column in ("wrk", "server", "pg", "other", "idle"):
        table.add_column(column, justify="right")
    for name, run in figures["runs"].items():
        wrk, cpu = run["wrk"], run["wrk"]["cpu"]
        events = f"{run['events_per_second']:,.0f}"
        per_commit = run["events_per_commit"]
        ok, verdict = run["stored_check"]["ok"], run["stored_check"]["verdict"]
        slowest = [f"{run['requests_per_second_range'][0]:,.0f}"] if repeated else []
        table.add_row(
            name,
            f"{wrk['requests_per_second']:,.0f}",
            *slowest,
            events if run["scenario"]["stores"] else f"[dim]({events})[/dim]",
            f"{wrk['p50_ms']:.1f}",
            f"{wrk['p99_ms']:.1f}",
            f"{per_commit:,.0f}" if per_commit else "",
            f"{run['stored']:,}",
            _optional(run.get("identity_resolved_per_second")),
            verdict if ok else f"[bold white on red]{verdict}[/]",
            *(f"{cpu[key]:.0f}" for key in ("wrk", "server", "postgres", "other", "idle")),
        )
    return table


def _optional(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def _reference_table(figures: dict[str, Any]) -> Table:
    table = Table(title=f"{figures['backend']}: storage reference (plain executemany, no HTTP)")
    for column in ("durability", "events/commit", "events", "events/s"):
        table.add_column(column, justify="left" if column == "durability" else "right")
    for reference in figures["reference"]:
        table.add_row(
            reference["durability"],
            f"{reference['events_per_commit']:,}",
            f"{reference['events']:,}",
            f"{reference['events_per_second']:,.0f}",
        )
    return table


def _print_ratios(console: Console, figures: dict[str, Any]) -> None:
    ratio = figures["ratios"]
    size = _server_reference(figures)

    def show(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    console.print(
        f"  track req/s ÷ ping req/s: [bold]{show(ratio['track_over_ping_requests'])}[/bold]"
        "   (1.00 = storing costs nothing on top of HTTP)"
    )
    console.print(
        f"  batch events/s ÷ reference events/s "
        f"({_SERVER_DURABILITY[figures['backend']]}, "
        f"{size['events_per_commit'] if size else '?'} events/commit): "
        f"[bold]{show(ratio['batch_over_reference_events'])}[/bold]"
        f"   (at 100 events/commit: {show(ratio['batch_over_reference_100_events'])})"
    )
    console.print(
        f"  batch req/s ÷ batch→ping req/s: {show(ratio['batch_over_batch_ping_requests'])}"
        "   (how close /v1/batch gets to the HTTP ceiling for the same body)"
    )
    failed = [name for name, run in figures["runs"].items() if not run["stored_check"]["ok"]]
    if failed:
        console.print(f"[bold white on red] STORED-EVENT CHECK FAILED for {', '.join(failed)} [/]")
