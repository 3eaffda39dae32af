"""What `nerve demo` shows: a welcome panel with the URLs, keys and curl examples to try, then one
live line of traffic (refreshed every second on a terminal, every ten seconds in a log).

The `admin key: …` line is printed on its own, unwrapped, so scripts and tests can read it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from nerve.demo.catalog import SHOP_NAME
from nerve.demo.people import STORES
from nerve.demo.simulator import TrafficStats
from nerve.demo.workspace import DemoWorkspace

_LOG_EVERY = 10.0  # seconds between traffic lines when stdout is not a terminal


def welcome(
    console: Console,
    workspace: DemoWorkspace,
    base_url: str,
    database: Path,
    customers: int,
    speed: float,
) -> None:
    intro = Text.assemble(
        (SHOP_NAME, "bold"),
        f" sells running gear on a website, in an app and in {len(STORES)} stores with kiosks"
        f" and tills. {customers} simulated customers browse, fill carts, switch devices and"
        " buy; every head reports to Nerve.",
    )
    if speed != 1:
        intro.append(f" Time runs {speed:g}x faster (NERVE_DEMO_SPEED).", style="yellow")
    panel = Panel(
        Group(intro, "", _links(base_url, database), "", _sources(workspace)),
        title=f"[bold]Nerve demo[/bold] · {SHOP_NAME}",
        title_align="left",
        border_style="cyan",
        padding=(1, 2),
    )
    console.print(panel)
    console.print(Text.assemble(("admin key: ", "bold"), workspace.admin_key), soft_wrap=True)
    console.print(
        "  Shown once. Send it as `Authorization: Bearer <key>` to the admin API.", style="dim"
    )
    console.print()
    _examples(console, workspace, base_url)


def _links(base_url: str, database: Path) -> Table:
    links = Table.grid(padding=(0, 3))
    links.add_column(style="bold")
    links.add_column(overflow="fold")
    links.add_row("Tracking API", f"{base_url}/v1/…  (Segment-compatible)")
    links.add_row("API docs", f"{base_url}/docs")
    links.add_row("Metrics", f"{base_url}/metrics")
    links.add_row("Health", f"{base_url}/healthz")
    links.add_row("Database", str(database))
    return links


def _sources(workspace: DemoWorkspace) -> Table:
    sources = Table(box=None, padding=(0, 3, 0, 0), header_style="bold", show_edge=False)
    sources.add_column("Source")
    sources.add_column("Kind")
    sources.add_column("Write key (HTTP Basic username, empty password)", no_wrap=True)
    for source in workspace.sources:
        sources.add_row(source.name, source.kind, source.write_key)
    return sources


def _examples(console: Console, workspace: DemoWorkspace, base_url: str) -> None:
    event = '{"anonymousId": "curl-visitor", "event": "Product Viewed", '
    event += '"properties": {"product_id": "RUN-001", "price": 139.95, "currency": "EUR"}}'
    examples = (
        ("Send an event as the website:", [
            f"curl -u '{workspace.write_keys['web']}:' {base_url}/v1/track \\",
            "  -H 'Content-Type: application/json' \\",
            f"  -d '{event}'",
        ]),
        ("List the latest orders from every head:", [
            f"curl -H 'Authorization: Bearer {workspace.admin_key}' \\",
            f"  '{base_url}/api/v1/events?event=Order+Completed&limit=5'",
        ]),
    )  # fmt: skip
    console.print("Try it", style="bold")
    for title, lines in examples:
        console.print(f"  {title}", style="dim")
        for line in lines:
            console.print(Text(f"  {line}", style="green"), soft_wrap=True)
    console.print()


def watch(
    console: Console, stats: TrafficStats, stop: threading.Event, deadline: float | None
) -> None:
    """Show the traffic until `stop` is set or the deadline (monotonic clock) passes."""
    started = time.monotonic()
    if not console.is_terminal:
        logged = started
        while not _wait_a_second(stop, deadline):
            if time.monotonic() - logged >= _LOG_EVERY:
                logged = time.monotonic()
                console.print(traffic_line(stats, logged - started))
        return
    # Transient: the farewell line replaces it with the final counts.
    with Live(traffic_line(stats, 0), console=console, auto_refresh=False, transient=True) as live:
        while not _wait_a_second(stop, deadline):
            live.update(traffic_line(stats, time.monotonic() - started), refresh=True)


def _wait_a_second(stop: threading.Event, deadline: float | None) -> bool:
    """Wait up to a second; True when it is time to stop."""
    timeout = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
    if stop.wait(timeout):
        return True
    return deadline is not None and time.monotonic() >= deadline


def traffic_line(stats: TrafficStats, elapsed: float) -> Text:
    line = Text.assemble(
        ("● ", "green"),
        (f"{_duration(elapsed):>6}  ", "dim"),
        (f"{stats.events:,} event{'' if stats.events == 1 else 's'}", "bold"),
        "  ",
        _per_head(stats),
        "  │  ",
        (
            f"{stats.orders:,} order{'' if stats.orders == 1 else 's'}  €{stats.revenue:,.2f}",
            "bold",
        ),
    )
    if stats.failed:
        line.append(f"  │  {stats.failed} failed, last: {stats.last_failure}", style="red")
    return line


def farewell(console: Console, stats: TrafficStats, elapsed: float, database: Path) -> None:
    console.print(
        f"Stopped after {_duration(elapsed)}: {stats.events:,} events ({_per_head(stats)}),"
        f" {stats.orders:,} orders worth €{stats.revenue:,.2f}."
    )
    console.print(
        f"The data stays in {database.name}: run `nerve demo` here again to carry on,"
        " or delete the file to start afresh.",
        style="dim",
    )


def _per_head(stats: TrafficStats) -> str:
    return " · ".join(f"{head} {count:,}" for head, count in stats.by_head.items())


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"
