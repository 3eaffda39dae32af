"""What `nerve demo` says when it stops: the traffic, who Nerve sees, what came of the mail, the
abandoned-cart flow, the SMS, pushes and Slack alerts, and what the fatigue cap held back."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.text import Text

from nerve.demo import commerce_feed
from nerve.demo.audience_feed import AudienceFigures
from nerve.demo.cart_flow import CartFlowFigures, PublishedFlow
from nerve.demo.channel_feed import ChannelFigures
from nerve.demo.commerce_feed import CommerceFigures
from nerve.demo.display import duration, identity_part, per_head, plural_s, span
from nerve.demo.identity import IdentityFigures
from nerve.demo.mail_feed import MailFigures
from nerve.demo.simulator import TrafficStats


def farewell(
    console: Console,
    stats: TrafficStats,
    identity: IdentityFigures | None,
    carts: CartFlowFigures,
    mail: MailFigures,
    channels: ChannelFigures,
    commerce: CommerceFigures,
    flow: PublishedFlow,
    speed: float,
    elapsed: float,
    database: Path,
    key_file: Path | None = None,
    audiences: AudienceFigures | None = None,
) -> None:
    console.print(
        f"Stopped after {duration(elapsed)}: {stats.events:,} events ({per_head(stats)}),"
        f" {stats.orders:,} orders worth €{stats.revenue:,.2f}."
    )
    if identity is not None:
        console.print(Text.assemble("Nerve sees ", identity_part(identity), "."))
        if identity.unresolved:
            waiting = identity.unresolved
            console.print(
                f"{waiting:,} event{plural_s(waiting)} not attached to a profile yet: the next run"
                f" here attaches {'it' if waiting == 1 else 'them'}.",
                style="dim",
            )
    for line in commerce_feed.farewell_lines(commerce):
        console.print(line)
    _farewell_mail(console, stats, mail)
    _farewell_carts(console, carts, flow, speed)
    _farewell_channels(console, stats, channels)
    if audiences is not None:
        _farewell_audiences(console, audiences)
    kept = f"{database.name} (its secrets under the key in {key_file.name})" if key_file \
        else database.name  # fmt: skip
    console.print(
        f"The data stays in {kept}: run `nerve demo` here again to carry on,"
        " or delete the file to start afresh.",
        style="dim",
    )


def _farewell_mail(console: Console, stats: TrafficStats, mail: MailFigures) -> None:
    text = (
        f"Mail: {mail.received:,} received by the demo's SMTP server; {stats.sign_ups:,}"
        f" newsletter sign-up{plural_s(stats.sign_ups)}, {mail.confirmations:,} confirmation"
        f" mail{plural_s(mail.confirmations)}, {mail.confirmed:,} confirmed by a click"
    )
    if mail.unsubscribed:
        text += f"; unsubscribed with one click: {', '.join(mail.unsubscribed)}"
    console.print(text + ".")
    if mail.reminders:
        _farewell_engagement(console, mail)
    if mail.skip_reasons:
        reasons = "; ".join(f"{reason}: {count}" for reason, count in mail.skip_reasons)
        console.print(f"Reminders Nerve skipped, and why: {reasons}.", style="dim")


def _farewell_engagement(console: Console, mail: MailFigures) -> None:
    text = (
        f"Cart reminders: Nerve counted {mail.opened:,} opened and {mail.clicked:,} clicked"
        " (GET /api/v1/messages?status=clicked)"
    )
    if mail.prefetched:
        text += (
            f"; Apple's privacy proxy loaded the open pixel of {mail.prefetched:,} as"
            f" {'it' if mail.prefetched == 1 else 'they'} arrived, which Nerve did not count"
        )
    clicks = mail.clicks
    if clicks.back:
        text += f". The clicks began {clicks.back:,} visit{plural_s(clicks.back)} to the shop"
        if clicks.ordered:
            text += (
                f", {clicks.ordered:,} ended in an order (€{clicks.revenue:,.2f}; the demo counts"
                " an order made in the visit a click began)"
            )
    if mail.chose:
        text += f". Chose their topics on the preference page: {', '.join(mail.chose)}"
    console.print(text + ".")


def _farewell_carts(
    console: Console, carts: CartFlowFigures, flow: PublishedFlow, speed: float
) -> None:
    if not (carts.reminders or carts.entered or carts.in_flow or carts.skipped):
        first = span(flow.waits[0] / speed) if flow.waits else "a while"
        console.print(
            f"No checkout has entered the {flow.name} flow yet; it reminds a shopper {first}"
            " after an abandoned checkout. Let the demo run a few minutes, or faster: --speed 10."
        )
        return
    console.print(
        f"The abandoned-cart flow took in {carts.entered:,} checkout{plural_s(carts.entered)}:"
        f" {carts.reminders:,} cart reminder{plural_s(carts.reminders)} sent,"
        f" {carts.skipped:,} skipped, {carts.coupons:,} coupon{plural_s(carts.coupons)} issued,"
        f" {carts.recovered:,} cart{plural_s(carts.recovered)} recovered (ordered after a"
        " reminder),"
        f" {carts.in_flow:,} still in the flow."
    )


def _farewell_channels(console: Console, stats: TrafficStats, channels: ChannelFigures) -> None:
    pushes = f"{channels.pushes:,} push{'' if channels.pushes == 1 else 'es'}"
    console.print(
        f"Phones and Slack: {channels.sms:,} SMS and {pushes} reached the demo's phone network"
        f" (/demo/phones), {channels.alerts:,} alert{plural_s(channels.alerts)} the team's Slack"
        f" channel (/demo/slack); {stats.sms_opt_ins:,} customer{plural_s(stats.sms_opt_ins)}"
        f" ticked the SMS box, {stats.push_tokens:,} app start{plural_s(stats.push_tokens)}"
        " registered a push token."
    )
    if channels.held:
        held, later = channels.held, channels.held_then_sent
        text = (
            f"The fatigue cap held back {held:,} marketing message{plural_s(held)} (GET"
            " /api/v1/messages?status=deferred, with the decision in `details`)"
        )
        if later:
            text += f"; {later:,} went once a slot was free"
        console.print(text + ".")
    if channels.skipped:
        reasons = "; ".join(f"{reason}: {count}" for reason, count in channels.skipped)
        console.print(f"SMS and pushes Nerve skipped, and why: {reasons}.", style="dim")


def _farewell_audiences(console: Console, audiences: AudienceFigures) -> None:
    entries = audiences.segment_entries
    each = ", ".join(f"{key} {count:,}" for key, count in audiences.entries.items())
    console.print(
        f"Segments and personalization: {entries:,} segment entr{'y' if entries == 1 else 'ies'}"
        f" ({each}); the website heads asked GET /v1/personalize {audiences.asked:,}"
        f" time{plural_s(audiences.asked)}, {audiences.decisions:,} personalization"
        f" decision{plural_s(audiences.decisions)}, {audiences.banners_changed:,} home page"
        f" banner{plural_s(audiences.banners_changed)} changed (/demo/head)."
    )
    runs, pushes = audiences.broadcast_runs, audiences.brand_pushes
    console.print(
        f"Broadcasts: {audiences.broadcasts:,} broadcast{plural_s(audiences.broadcasts)} started"
        f" {runs:,} run{plural_s(runs)} (the VIP newsletter and the brand deals);"
        f" {pushes:,} brand push{'' if pushes == 1 else 'es'} sent after a price drop."
    )
