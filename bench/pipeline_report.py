"""The tables of bench/pipeline.py: throughput and drain, resolution lag, CPU per role, the
issue's goals beside the figures, and the py-spy summary."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

PERCENTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "max": 1.0}


def print_report(console: Console, results: dict[str, Any]) -> None:
    console.print(_throughput_table(results))
    console.print(_lag_table(results))
    console.print(_cpu_table(results))
    for table in _profile_tables(results):
        console.print(table)
    for line in _goals(results):
        console.print(line)


def _table(title: str, columns: str) -> Table:
    table = Table(title=title)
    for name in columns.split("|"):
        table.add_column(name, justify="left" if name in ("backend", "setup") else "right")
    return table


def _throughput_table(results: dict[str, Any]) -> Table:
    table = _table(
        "Sustained end-to-end throughput (phases A, B, C)",
        "backend|setup|ingested ev/s|processed ev/s|÷ ingest-only|÷ 1 worker|backlog at end"
        "|drain ev/s|drain ÷ 1 worker",
    )
    for backend, figures in results.items():
        ingest = figures["ingest_only"]["ingested_per_second"]
        table.add_row(backend, "serve, ingest only", f"{ingest:,.0f}", *[""] * 6)
        rates, drains = _worker_rates(figures)
        for config in figures["processing"]:
            b, workers = config["sustained"], config["workers"]
            table.add_row(
                "", config["setup"] + (" (profiled)" if "profile" in b else ""),
                f"{b['ingested_per_second']:,.0f}", f"{b['processed_per_second']:,.0f}",
                f"{b['processed_per_second'] / ingest:.2f}", _ratio(rates, workers),
                f"{b['backlog_end']:,}",
                f"{drains[workers]:,.0f}" if drains.get(workers) else "-",
                _ratio(drains, workers),
            )  # fmt: skip
    return table


def _worker_rates(figures: dict[str, Any]) -> tuple[dict[int, float], dict[int, float]]:
    """Processed ev/s in phase B and drain ev/s in phase C, by number of workers."""
    configs = figures["processing"]
    return (
        {c["workers"]: c["sustained"]["processed_per_second"] for c in configs},
        {c["workers"]: c["drain"]["per_second"] or 0.0 for c in configs},
    )


def _ratio(rates: dict[int, float], workers: int) -> str:
    return f"{rates[workers] / rates[1]:.2f}" if workers and rates.get(1) else ""


def _cpu_table(results: dict[str, Any]) -> Table:
    roles = ("load", "server", "workers", "postgres", "bench", "other", "idle")
    table = _table("CPU during the windows, % of one core", "|".join(("backend|setup", *roles)))
    for backend, figures in results.items():
        rows = [("serve, ingest only (A)", figures["ingest_only"])]
        for config in figures["processing"]:
            rows.append((f"{config['setup']} (B)", config["sustained"]))
            rows.append((f"{config['setup']} (C)", config["drain"]))
            for lag in config.get("lag", []):
                rows.append((f"{config['setup']} (D, ½ {lag['basis']})", lag))
        for n, (setup, phase) in enumerate(rows):
            shares = phase["cpu_percent_of_a_core"]
            cells = [f"{shares[r]:.0f}" if r in shares else "-" for r in roles]
            table.add_row(backend if n == 0 else "", setup, *cells)
    return table


def _lag_table(results: dict[str, Any]) -> Table:
    table = _table(
        "Resolution lag (phase D)",
        "backend|setup|rate: share of|target ev/s|ingested|processed|backlog|events timed"
        "|p50 s|p90 s|p99 s|max s",
    )
    for backend, figures in results.items():
        for config in figures["processing"]:
            for d in config.get("lag", []):
                table.add_row(
                    backend, config["setup"], f"{d['basis']}", f"{d['target_per_second']:,.0f}",
                    f"{d['ingested_per_second']:,.0f}", f"{d['processed_per_second']:,.0f}",
                    f"{d['backlog_start']:,} → {d['backlog_end']:,}", f"{d['events_timed']:,}",
                    *(_seconds(d[f"{p}_s"]) for p in PERCENTILES),
                )  # fmt: skip
    return table


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _goals(results: dict[str, Any]) -> list[str]:
    """The issue's goals beside the figures (printed, not asserted)."""
    lines = []
    if "sqlite" in results:
        figures = results["sqlite"]
        ratio = (
            figures["processing"][0]["sustained"]["processed_per_second"]
            / figures["ingest_only"]["ingested_per_second"]
        )
        lines.append(f"SQLite: processed ÷ ingest-only = {ratio:.2f} (goal: at least 0.50)")
    if "postgresql" in results:
        rates, drains = _worker_rates(results["postgresql"])
        if rates.get(1) and 2 in rates:
            lines.append(
                f"PostgreSQL: 2 workers ÷ 1 worker = {_ratio(rates, 2)} while ingesting, "
                f"{_ratio(drains, 2) or '-'} draining (goal: at least 1.5)"
            )
    return lines


def _profile_tables(results: dict[str, Any]) -> list[Table]:
    """Top 15 `nerve/` functions by inclusive time and top 15 frames by self time."""
    tables = []
    for backend, figures in results.items():
        for config in figures["processing"]:
            profile = config["sustained"].get("profile")
            if not profile:
                continue
            if "error" in profile:
                tables.append(Table(title=f"py-spy failed: {profile['error']}"))
                continue
            for key, what in (("inclusive", "inclusive, nerve/ functions"), ("self", "self")):
                table = Table(
                    title=f"py-spy, {backend} {config['setup']}, phase B: {what} "
                    f"(% of {profile['samples']:,} samples of busy threads)"
                )
                table.add_column("%", justify="right")
                table.add_column("function (file)")
                for row in profile[key][:15]:
                    table.add_row(f"{row['percent']:.1f}", row["frame"])
                tables.append(table)
    return tables
