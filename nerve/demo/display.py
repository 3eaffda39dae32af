"""What `nerve demo` shows: a welcome panel with the URLs, keys and curl examples to try, then one
live line of traffic, people and cart reminders (refreshed every second on a terminal, every ten
seconds in a log).

The `admin key: …` line is printed on its own, unwrapped, so scripts and tests can read it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlencode

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from nerve.demo.cart_flow import CartFlowFigures, PublishedFlow
from nerve.demo.catalog import SHOP_NAME
from nerve.demo.identity import IdentityFigures
from nerve.demo.people import STORES, Customer
from nerve.demo.simulator import TrafficStats
from nerve.demo.workspace import DemoWorkspace

_LOG_EVERY = 10.0  # seconds between traffic lines when stdout is not a terminal
_BETWEEN = "  │  "


def welcome(
    console: Console,
    workspace: DemoWorkspace,
    base_url: str,
    database: Path,
    customers: list[Customer],
    speed: float,
    flow: PublishedFlow,
    receiver_url: str,
) -> None:
    intro = Text.assemble(
        (SHOP_NAME, "bold"),
        f" sells running gear on a website, in an app and in {len(STORES)} stores with kiosks"
        f" and tills. {len(customers)} simulated customers browse, fill carts, switch devices and"
        " buy; every head reports to Nerve, which works out who is who: one profile per person,"
        " whatever the device.",
    )
    if speed != 1:
        intro.append(f" Time runs {speed:g}x faster (NERVE_DEMO_SPEED).", style="yellow")
    panel = Panel(
        Group(
            intro,
            "",
            _flow_intro(flow, speed),
            "",
            _links(base_url, database, receiver_url),
            "",
            _sources(workspace),
        ),
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
    _examples(console, workspace, base_url, customers[0] if customers else None, flow)


def _flow_intro(flow: PublishedFlow, speed: float) -> Text:
    when = [f"{_span(flow.waits[0])} after the checkout"]
    when += [f"{_span(wait)} later" for wait in flow.waits[1:]]
    text = Text.assemble(
        "Abandoned checkouts enter the flow ",
        (flow.name, "bold"),
        f" (v{flow.version}{', just published' if flow.published else ''}): reminders"
        f" {', then '.join(when)}, sent as webhooks to the demo's own receiver. An order of"
        " that cart, on any head, ends the run: the flow's goal.",
    )
    if speed != 1:
        real = " and ".join(_span(wait / speed) for wait in flow.waits)
        text.append(f" At {speed:g}x that is {real}.", style="yellow")
    return text


def _span(seconds: float) -> str:
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{_s(count)}"
    return f"{seconds:.3g} s"


def _links(base_url: str, database: Path, receiver_url: str) -> Table:
    links = Table.grid(padding=(0, 3))
    links.add_column(style="bold")
    links.add_column(overflow="fold")
    links.add_row("Tracking API", f"{base_url}/v1/…  (Segment-compatible)")
    links.add_row("API docs", f"{base_url}/docs")
    links.add_row("Metrics", f"{base_url}/metrics")
    links.add_row("Health", f"{base_url}/healthz")
    links.add_row("Cart reminders", receiver_url)
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


def _examples(
    console: Console,
    workspace: DemoWorkspace,
    base_url: str,
    customer: Customer | None,
    flow: PublishedFlow,
) -> None:
    admin = f"curl -H 'Authorization: Bearer {workspace.admin_key}'"
    event = '{"anonymousId": "curl-visitor", "event": "Product Viewed", '
    event += '"properties": {"product_id": "RUN-001", "price": 139.95, "currency": "EUR"}}'
    examples = [
        (["Send an event as the website:"], [
            f"curl -u '{workspace.write_keys['web']}:' {base_url}/v1/track \\",
            "  -H 'Content-Type: application/json' \\",
            f"  -d '{event}'",
        ]),
        (["List the latest orders from every head:"], [
            f"{admin} \\",
            f"  '{base_url}/api/v1/events?event=Order+Completed&limit=5'",
        ]),
    ]  # fmt: skip
    if customer is not None:
        profiles = f"{base_url}/api/v1/profiles"
        # ":" and "@" may stay as they are in a query (RFC 3986 §3.4); "+" and the like may not.
        query = urlencode({"identifier": f"email:{customer.email}"}, safe=":@", quote_via=quote)
        examples += [
            ([f"Look up {customer.name} by e-mail, one profile for all their devices and heads",
              "(a 404 until they first show up):"], [
                f"{admin} \\",
                f"  '{profiles}?{query}'",
            ]),
            (["Their timeline across heads, and the merge log that explains the profile:"], [
                'PROFILE=prf_…  # the "id" in the answer above',
                f'{admin} "{profiles}/$PROFILE/timeline"',
                f'{admin} "{profiles}/$PROFILE/merges"',
            ]),
            (["Everything held about them (GDPR export), then erase them everywhere — runs",
              "that wait stop, and their further events are dropped until they sign up again:"], [
                f'{admin} "{profiles}/$PROFILE/export"',
                f'{admin} -X DELETE "{profiles}/$PROFILE"',
            ]),
        ]  # fmt: skip
    runs = f"{base_url}/api/v1/flows/{flow.name}/runs"
    examples += [
        (["The latest runs of the abandoned-cart flow (status, outcome \"goal\" = ordered):"], [
            f"{admin} \\",
            f"  '{runs}?limit=5'",
        ]),
        (["One run, step by step (each reminder sent is an \"action\" step):"], [
            'RUN=run_…  # an "id" from the answer above',
            f'{admin} "{base_url}/api/v1/runs/$RUN"',
        ]),
    ]  # fmt: skip
    console.print("Try it", style="bold")
    for title, lines in examples:
        for words in title:
            console.print(f"  {words}", style="dim")
        for line in lines:
            console.print(Text(f"  {line}", style="green"), soft_wrap=True)
    console.print()


def watch(
    console: Console,
    stats: TrafficStats,
    identity: Callable[[], IdentityFigures | None],
    carts: Callable[[], CartFlowFigures],
    stop: threading.Event,
    deadline: float | None,
) -> None:
    """Show the traffic until `stop` is set or the deadline (monotonic clock) passes.

    `identity` and `carts` are asked for their figures once per line shown, so at most once a
    second.
    """
    started = time.monotonic()
    if not console.is_terminal:
        logged = started
        while not _wait_a_second(stop, deadline):
            if time.monotonic() - logged >= _LOG_EVERY:
                logged = time.monotonic()
                # One line per entry, however long: log readers grep and tail.
                line = traffic_line(stats, identity(), logged - started, carts=carts())
                console.print(line, soft_wrap=True)
        return
    # Transient: the farewell line replaces it with the final counts.
    first = traffic_line(stats, None, 0, console.width)
    with Live(first, console=console, auto_refresh=False, transient=True) as live:
        while not _wait_a_second(stop, deadline):
            elapsed = time.monotonic() - started
            line = traffic_line(stats, identity(), elapsed, console.width, carts())
            live.update(line, refresh=True)


def _wait_a_second(stop: threading.Event, deadline: float | None) -> bool:
    """Wait up to a second; True when it is time to stop."""
    timeout = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
    if stop.wait(timeout):
        return True
    return deadline is not None and time.monotonic() >= deadline


def traffic_line(
    stats: TrafficStats,
    identity: IdentityFigures | None,
    elapsed: float,
    width: int | None = None,
    carts: CartFlowFigures | None = None,
) -> Text:
    """The live line; parts that do not fit in `width` go on indented lines of their own."""
    parts = [
        Text.assemble(
            (f"{stats.events:,} event{_s(stats.events)}", "bold"),
            "  ",
            _per_head(stats),
        ),
        Text(
            f"{stats.orders:,} order{_s(stats.orders)}  €{stats.revenue:,.2f}",
            style="bold",
        ),
    ]
    if identity is not None:
        parts.append(_identity_part(identity))
    if carts is not None:
        parts.append(_carts_part(carts))
    if stats.failed:
        parts.append(Text(f"{stats.failed} failed, last: {stats.last_failure}", style="red"))
    line = Text.assemble(("● ", "green"), (f"{_duration(elapsed):>6}  ", "dim"))
    indent = line.cell_len
    line.append_text(parts[0])
    used = line.cell_len
    for part in parts[1:]:
        if width is not None and used + len(_BETWEEN) + part.cell_len > width:
            line.append("\n" + " " * indent)
            used = indent
        else:
            line.append(_BETWEEN)
            used += len(_BETWEEN)
        line.append_text(part)
        used += part.cell_len
    return line


def _identity_part(identity: IdentityFigures) -> Text:
    people = identity.people
    part = Text.assemble(
        (f"{people:,} {'person' if people == 1 else 'people'}", "bold"),
        f" ({identity.identified:,} identified)",
        f" · {identity.merged:,} profile{_s(identity.merged)} merged",
    )
    if identity.relinked:
        part.append(f" · {identity.relinked:,} device re-link{_s(identity.relinked)}")
    if identity.refused:
        part.append(f" · {identity.refused:,} merge{_s(identity.refused)} refused")
    return part


def _carts_part(carts: CartFlowFigures) -> Text:
    sent = carts.reminders
    if not (sent or carts.entered or carts.in_flow):
        return Text("no abandoned-cart reminders yet", style="dim")
    part = Text.assemble((f"{sent:,} cart reminder{_s(sent)}", "bold"))
    if carts.last is not None:
        part.append(f" (last: {_last_reminder(carts)})")
    part.append(f" · {carts.recovered:,} cart{_s(carts.recovered)} recovered")
    part.append(f" · {carts.in_flow:,} in the flow")
    return part


def _last_reminder(carts: CartFlowFigures, *, long: bool = False) -> str:
    last = carts.last
    assert last is not None
    shopper = carts.last_shopper or "a shopper the demo cannot name"
    if not long:
        return shopper if last.total is None else f"{shopper}, €{last.total:,.2f}"
    number = {1: "first", 2: "second"}.get(last.reminder, f"number {last.reminder}")
    coupon = f" with coupon {last.coupon}" if last.coupon else ""
    cart = "" if last.total is None else f" about a €{last.total:,.2f} cart"
    return f"the {number} reminder{coupon}, to {shopper}{cart}"


def farewell(
    console: Console,
    stats: TrafficStats,
    identity: IdentityFigures | None,
    carts: CartFlowFigures,
    flow: PublishedFlow,
    speed: float,
    elapsed: float,
    database: Path,
) -> None:
    console.print(
        f"Stopped after {_duration(elapsed)}: {stats.events:,} events ({_per_head(stats)}),"
        f" {stats.orders:,} orders worth €{stats.revenue:,.2f}."
    )
    if identity is not None:
        console.print(Text.assemble("Nerve sees ", _identity_part(identity), "."))
        if identity.unresolved:
            waiting = identity.unresolved
            console.print(
                f"{waiting:,} event{_s(waiting)} not attached to a profile yet: the next run"
                f" here attaches {'it' if waiting == 1 else 'them'}.",
                style="dim",
            )
    _farewell_carts(console, carts, flow, speed)
    console.print(
        f"The data stays in {database.name}: run `nerve demo` here again to carry on,"
        " or delete the file to start afresh.",
        style="dim",
    )


def _farewell_carts(
    console: Console, carts: CartFlowFigures, flow: PublishedFlow, speed: float
) -> None:
    if not (carts.reminders or carts.entered or carts.in_flow):
        first = _span(flow.waits[0] / speed) if flow.waits else "a while"
        console.print(
            f"No checkout has entered the {flow.name} flow yet; it reminds a shopper {first}"
            " after an abandoned checkout. Let the demo run a few minutes, or faster: --speed 10."
        )
        return
    console.print(
        f"The abandoned-cart flow took in {carts.entered:,} checkout{_s(carts.entered)}:"
        f" {carts.reminders:,} cart reminder{_s(carts.reminders)} sent,"
        f" {carts.recovered:,} cart{_s(carts.recovered)} recovered (ordered after a reminder),"
        f" {carts.in_flow:,} still in the flow."
    )
    if carts.last is not None:
        console.print(f"The last reminder was {_last_reminder(carts, long=True)}.", style="dim")


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _per_head(stats: TrafficStats) -> str:
    return " · ".join(f"{head} {count:,}" for head, count in stats.by_head.items())


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"
