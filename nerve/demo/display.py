"""What `nerve demo` shows: a welcome panel with the URLs, keys and curl examples to try, then one
live line of traffic, people, mail and cart reminders (refreshed every second on a terminal, every
ten seconds in a log), with a line above it for every mail and what the customers did with it.

The `admin key: …` line is printed on its own, unwrapped, so scripts and tests can read it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from nerve.demo import commerce_feed, examples
from nerve.demo.audience_setup import BRAND_DEAL, VIP_NEWSLETTER, AudienceSetup
from nerve.demo.cart_flow import CartFlowFigures, PublishedFlow
from nerve.demo.catalog import SHOP_NAME
from nerve.demo.channel_feed import ChannelFigures
from nerve.demo.channel_flows import APP_OFFER, BIG_ORDERS, CART_SMS, TRACKING
from nerve.demo.channel_setup import CAP_WINDOW_SECONDS, DemoChannels
from nerve.demo.commerce_feed import CommerceFigures
from nerve.demo.heads import PATH as HEAD_PAGE
from nerve.demo.identity import IdentityFigures
from nerve.demo.journeys import NEWSLETTER
from nerve.demo.mail_feed import MailFigures
from nerve.demo.mail_pages import PATH as MAIL_PAGES
from nerve.demo.people import STORES, Customer
from nerve.demo.phone_pages import PHONES, SLACK
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
    backend_url: str,
    mailbox_url: str,
    channels: DemoChannels,
    audiences: AudienceSetup | None = None,
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
            _channels_intro(channels, customers, speed),
            "",
            *((_audiences_intro(audiences), "") if audiences is not None else ()),
            _links(base_url, database, backend_url, mailbox_url, channels),
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
    examples.show(console, workspace, base_url, customers, flow)


def _flow_intro(flow: PublishedFlow, speed: float) -> Text:
    when = [f"{span(flow.waits[0])} after the checkout"]
    when += [f"{span(wait)} later" for wait in flow.waits[1:]]
    text = Text.assemble(
        f"Most customers sign up for the {NEWSLETTER} (double opt-in: Nerve mails a link, most"
        " click it). Abandoned checkouts enter the flow ",
        (flow.name, "bold"),
        f" (v{flow.version}{', just published' if flow.published else ''}): reminder mails"
        f" {', then '.join(when)}, with the cart's products, only to customers who confirmed;"
        " big carts get a coupon, which a webhook asks the shop's backend to honour. An order of"
        " that cart, on any head, ends the run: the flow's goal. Every mail lands in the demo's"
        " own SMTP server, its links through Nerve's click redirect and with an open pixel:"
        " customers read reminders, some click a product and come back to buy, a few choose"
        " topics on the preference page, one unsubscribes with one click and gets nothing more.",
    )
    if speed != 1:
        real = " and ".join(span(wait / speed) for wait in flow.waits)
        text.append(f" At {speed:g}x that is {real}.", style="yellow")
    return text


def _channels_intro(channels: DemoChannels, customers: list[Customer], speed: float) -> Text:
    flows, cap = channels.flows, channels.policy.fatigue
    text = Text("Beside mail: orders sent by post get an SMS with the tracking number once packed")
    for name, what in (
        (TRACKING, ""),
        (CART_SMS, "; shoppers who ticked “text me about my cart” get the reminder by SMS too,"
                   " the others are skipped with the reason"),
        (APP_OFFER, "; app users who allowed offers at the app's prompt get its welcome offer"
                    " as a push, once per phone"),
        (BIG_ORDERS, "; orders of 150 EUR or more alert the team in Slack at once"),
    ):  # fmt: skip
        published = flows.flow(name)
        text.append(what)
        text.append(f" ({published.name} v{published.version})", style="dim")
    text.append(
        ". SMS and pushes go to the demo's stand-ins for Twilio and Firebase, the alerts to a"
        " Slack-shaped receiver: see what reached the phones and the team below."
    )
    if cap is None:
        return text
    text.append(
        f" Every marketing message, whatever its flow or channel, is held to the delivery policy:"
        f" at most {cap.limit} per customer in any {span(CAP_WINDOW_SECONDS)} (a real shop:"
        " 3 a week); the one over it waits for a free slot."
    )
    regular = next((c for c in customers if c.regular), None)
    if regular is not None:
        text.append(" ")
        text.append(regular.name, style="bold")
        text.append(
            ", a regular, opens the app, allows its offers, leaves a cart and ticks the SMS box:"
            " in three flows at once, and held to the cap — watch for the ⏸ line."
        )
    if speed != 1:
        text.append(f" At {speed:g}x the window is {cap.window}.", style="yellow")
    return text


def _audiences_intro(audiences: AudienceSetup) -> Text:
    vip, deal = audiences.flow(VIP_NEWSLETTER), audiences.flow(BRAND_DEAL)
    return Text.assemble(
        "Segments (",
        (", ".join(audiences.segments), "bold"),
        ") follow every event within a"
        " second. The website asks Nerve what to show on each home page (GET /v1/personalize,"
        " slots ",
        (", ".join(audiences.slots), "bold"),
        "): the winter-jacket promotion, or the"
        " running-shoe collection for running fans — a customer who looks only at running shoes"
        " on her phone sees it on her laptop once she signs in there (watch for the ▣ line). Once"
        " VIPs exist the back office starts the VIP newsletter as a broadcast, its blast radius"
        f" first ({vip.name} v{vip.version}); when a Pacer Lab price drops by a quarter, people"
        " whose top brand is Pacer Lab and who allowed the app's offers get a push"
        f" ({deal.name} v{deal.version}).",
    )


def span(seconds: float) -> str:
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{plural_s(count)}"
    return f"{seconds:.3g} s"


def _links(
    base_url: str, database: Path, backend_url: str, mailbox_url: str, channels: DemoChannels
) -> Table:
    links = Table.grid(padding=(0, 3))
    links.add_column(style="bold")
    links.add_column(overflow="fold")
    links.add_row("Mail", f"{base_url}{MAIL_PAGES}  (every mail sent, as the customer sees it)")
    links.add_row("Phones", f"{base_url}{PHONES}  (every SMS and push, as the phone shows it)")
    links.add_row("Slack", f"{base_url}{SLACK}  (the team's alerts, as Slack lays them out)")
    links.add_row("Website head", f"{base_url}{HEAD_PAGE}  (what GET /v1/personalize answered)")
    links.add_row("Tracking API", f"{base_url}/v1/…  (Segment-compatible)")
    links.add_row("API docs", f"{base_url}/docs")
    links.add_row("Metrics", f"{base_url}/metrics")
    links.add_row("Health", f"{base_url}/healthz")
    links.add_row("SMTP server", f"{mailbox_url}  (the demo's own; it keeps the last 200 mails)")
    links.add_row("Shop backend", f"{backend_url}  (receives the flow's webhooks)")
    links.add_row("SMS and FCM", f"{channels.phones_url}  (the demo's stand-ins: NERVE_SMS_URL,"
                  " NERVE_PUSH_FCM_URL)")  # fmt: skip
    links.add_row("Slack webhook", f"{channels.slack_hint}  (the Slack destination team-alerts)")
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


def watch(
    console: Console,
    stats: TrafficStats,
    identity: Callable[[], IdentityFigures | None],
    carts: Callable[[], CartFlowFigures],
    news: Callable[[], tuple[list[Text], MailFigures, ChannelFigures, CommerceFigures]],
    stop: threading.Event,
    deadline: float | None,
) -> None:
    """Show the traffic until `stop` is set or the deadline (monotonic clock) passes.

    Every second, `news` gives what happened to mail, SMS, pushes and Slack since it was last
    asked (printed at once, one line each, above the live line) and their figures; `identity`
    and `carts` are asked for their figures once per traffic line shown.
    """
    started = time.monotonic()
    if not console.is_terminal:
        logged = started
        while not _wait_a_second(stop, deadline):
            lines, mail, channels, commerce = news()
            for entry in lines:
                console.print(entry, soft_wrap=True)
            if time.monotonic() - logged >= _LOG_EVERY:
                logged = time.monotonic()
                # One line per entry, however long: log readers grep and tail.
                line = traffic_line(stats, identity(), logged - started, carts=carts(),
                                    mail=mail, channels=channels,
                                    commerce=commerce)  # fmt: skip
                console.print(line, soft_wrap=True)
        return
    # Transient: the farewell line replaces it with the final counts.
    first = traffic_line(stats, None, 0, console.width)
    with Live(first, console=console, auto_refresh=False, transient=True) as live:
        while not _wait_a_second(stop, deadline):
            lines, mail, channels, commerce = news()
            for entry in lines:
                live.console.print(entry)
            elapsed = time.monotonic() - started
            line = traffic_line(stats, identity(), elapsed, console.width, carts(), mail, channels,
                                commerce)  # fmt: skip
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
    mail: MailFigures | None = None,
    channels: ChannelFigures | None = None,
    commerce: CommerceFigures | None = None,
) -> Text:
    """The live line; parts that do not fit in `width` go on indented lines of their own."""
    parts = [
        Text.assemble(
            (f"{stats.events:,} event{plural_s(stats.events)}", "bold"),
            "  ",
            per_head(stats),
        ),
        Text(
            f"{stats.orders:,} order{plural_s(stats.orders)}  €{stats.revenue:,.2f}",
            style="bold",
        ),
    ]
    if commerce is not None:
        parts += [commerce_feed.orders_part(commerce), commerce_feed.carts_part(commerce),
                  commerce_feed.stock_part(commerce)]  # fmt: skip
    if identity is not None:
        parts.append(identity_part(identity))
    parts.append(_mail_part(stats, mail))
    if carts is not None:
        parts.append(_carts_part(carts))
    if channels is not None:
        parts.append(_channels_part(channels))
    if stats.failed:
        parts.append(Text(f"{stats.failed} failed, last: {stats.last_failure}", style="red"))
    line = Text.assemble(("● ", "green"), (f"{duration(elapsed):>6}  ", "dim"))
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


def identity_part(identity: IdentityFigures) -> Text:
    people = identity.people
    part = Text.assemble(
        (f"{people:,} {'person' if people == 1 else 'people'}", "bold"),
        f" ({identity.identified:,} identified)",
        f" · {identity.merged:,} profile{plural_s(identity.merged)} merged",
    )
    if identity.relinked:
        part.append(f" · {identity.relinked:,} device re-link{plural_s(identity.relinked)}")
    if identity.refused:
        part.append(f" · {identity.refused:,} merge{plural_s(identity.refused)} refused")
    return part


def _mail_part(stats: TrafficStats, mail: MailFigures | None) -> Text:
    received = mail.received if mail is not None else 0
    part = Text.assemble((f"{received:,} mail{plural_s(received)}", "bold"))
    part.append(f" · {stats.sign_ups:,} sign-up{plural_s(stats.sign_ups)}")
    if mail is not None:
        part.append(f", {mail.confirmed:,} confirmed")
        if mail.unsubscribed:
            part.append(f" · {len(mail.unsubscribed):,} unsubscribed")
    return part


def _carts_part(carts: CartFlowFigures) -> Text:
    sent = carts.reminders
    if not (sent or carts.entered or carts.in_flow or carts.skipped):
        return Text("no abandoned-cart reminders yet", style="dim")
    part = Text.assemble((f"{sent:,} cart reminder{plural_s(sent)} mailed", "bold"))
    part.append(f" · {carts.opened:,} opened · {carts.clicked:,} clicked")
    part.append(f" · {carts.skipped:,} skipped")
    part.append(f" · {carts.recovered:,} cart{plural_s(carts.recovered)} recovered")
    part.append(f" · {carts.in_flow:,} in the flow")
    return part


def _channels_part(channels: ChannelFigures) -> Text:
    pushes = f"{channels.pushes:,} push{'' if channels.pushes == 1 else 'es'}"
    alerts = f"{channels.alerts:,} Slack alert{plural_s(channels.alerts)}"
    part = Text.assemble((f"{channels.sms:,} SMS", "bold"), " · ", (pushes, "bold"), " · ",
                         (alerts, "bold"))  # fmt: skip
    if channels.held:
        part.append(f" · {channels.held:,} held back by the cap", style="yellow")
    return part


def plural_s(count: int) -> str:
    return "" if count == 1 else "s"


def per_head(stats: TrafficStats) -> str:
    return " · ".join(f"{head} {count:,}" for head, count in stats.by_head.items())


def duration(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"
