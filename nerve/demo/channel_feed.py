"""What the demo's screen says about the channels beside mail: a line per SMS and push as it
reaches the demo's phone network and per alert as it reaches the team's Slack channel, each with
the flow step that sent it; a line per marketing message the fatigue cap held back, and one for
the first SMS and the first push Nerve skipped for want of consent; and the figures.

Asked once a second by the screen's thread, after the mail feed read the message log (the
changed sends come through `SendLog.on_change`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.text import Text

from nerve.demo.cart_flow import STEP_MAILS
from nerve.demo.channel_flows import STEP_NAMES
from nerve.demo.phone_pages import PHONES, SLACK
from nerve.demo.phones import PhoneMessage, PhoneNetwork
from nerve.demo.recipients import Recipients
from nerve.demo.sends import Send, SendLog
from nerve.demo.team_alerts import CHANNEL, TeamAlert, TeamChannel

_WAITING = 3  # screen ticks an arrival waits for its send to show in the log, at most
_CHANNELS = {"email": "mail", "sms": "SMS", "push": "push"}


@dataclass(frozen=True)
class ChannelFigures:
    sms: int  # SMS the demo's phone network received
    pushes: int  # pushes it received
    alerts: int  # alerts the team's Slack channel received
    held: int  # marketing messages the fatigue cap held back (each counted once)
    held_then_sent: int  # of them, sent once a slot was free
    skipped: list[tuple[str, int]]  # SMS and pushes skipped, "what: why", most frequent first


class ChannelFeed:
    def __init__(
        self, network: PhoneNetwork, team: TeamChannel, sends: SendLog, recipients: Recipients,
        base_url: str,
    ) -> None:  # fmt: skip
        self._network, self._team, self._sends = network, team, sends
        self._recipients, self._base_url = recipients, base_url
        self._shown_message = self._shown_alert = 0
        self._pending: list[tuple[PhoneMessage, int]] = []  # arrivals whose send is not read yet
        self._changed: list[Send] = []
        self._held: dict[str, Send] = {}  # message ids the cap held back
        self._held_then_sent = 0
        self._skipped: Counter[str] = Counter()
        self._skips_shown: set[str] = set()  # channels whose first consent skip was shown
        sends.on_change(self._read)

    def lines(self) -> list[Text]:
        """What happened since the last call, one line each."""
        lines = [self._arrival(message) for message in self._arrived()]
        alerts = self._team.after(self._shown_alert)
        if alerts:
            self._shown_alert = alerts[-1].number
        lines += [self._alert(alert) for alert in alerts]
        changed, self._changed = self._changed, []
        for send in changed:
            lines += self._logged(send)
        return lines

    def _read(self, changed: list[Send]) -> None:
        self._changed.extend(changed)

    def figures(self) -> ChannelFigures:
        return ChannelFigures(
            sms=self._network.count("sms"),
            pushes=self._network.count("push"),
            alerts=self._team.count,
            held=len(self._held),
            held_then_sent=self._held_then_sent,
            skipped=self._skipped.most_common(),
        )

    def _arrived(self) -> list[PhoneMessage]:
        """The new arrivals, and the earlier ones whose send the log now shows (or that waited
        long enough), in order."""
        fresh = self._network.after(self._shown_message)
        if fresh:
            self._shown_message = fresh[-1].number
        ready, waiting = [], []
        for message, ticks in [*self._pending, *((m, 0) for m in fresh)]:
            if self._send_of(message) is not None or ticks >= _WAITING:
                ready.append(message)
            else:
                waiting.append((message, ticks + 1))
        self._pending = waiting
        return ready

    def _send_of(self, message: PhoneMessage) -> Send | None:
        if message.kind == "sms":
            return self._sends.by_idempotency_key(message.idempotency_key)
        return self._sends.by_message_id(message.message_id)

    def _arrival(self, message: PhoneMessage) -> Text:
        send = self._send_of(message)
        what = STEP_NAMES.get(send.node or "", "") if send is not None else ""
        what = what or ("SMS" if message.kind == "sms" else "Push")
        if send is not None and send.flow:
            message.sent_by = (
                f"{what}: flow {send.flow}, step {send.node}, template {send.template}"
            )
        customer = self._recipients.of(message.to)
        name = customer.name if customer else "a customer"
        line = Text.assemble(("✆ " if message.kind == "sms" else "◆ ", "magenta"), (what, "bold"))
        if message.kind == "sms":
            line.append(f" by SMS to {name} ({message.to}): “{_short(message.body, 120)}”")
        else:
            device = self._recipients.device_name(message.to)
            line.append(f" pushed to {name}'s {device}: “{_short(message.title or '')}”")
        if send is not None and send.message_id in self._held:
            line.append(" — held back by the cap until now", style="yellow")
        line.append(f" → {self._base_url}{PHONES}", style="cyan")
        return line

    def _alert(self, alert: TeamAlert) -> Text:
        return Text.assemble(
            ("# ", "magenta"), ("Slack ", "bold"), f"{CHANNEL}: “{_short(alert.text, 90)}”",
            (f" → {self._base_url}{SLACK}", "cyan"),
        )  # fmt: skip

    def _logged(self, send: Send) -> list[Text]:
        """A line for a message the cap holds back, and for the first SMS and push skipped
        for want of consent; the rest counted."""
        if send.status == "deferred" and _over_cap(send.details):
            if send.message_id in self._held:
                return []  # held again after a slot went to another message: said already
            self._held[send.message_id] = send
            return [self._held_back(send)]
        if send.status == "sent" and send.message_id in self._held:
            self._held_then_sent += 1
        if send.status != "skipped" or send.channel not in ("sms", "push"):
            return []
        what = _named(send)
        self._skipped[f"{what}: {send.reason}"] += 1
        if not (send.reason or "").startswith("no consent") or send.channel in self._skips_shown:
            return []
        self._skips_shown.add(send.channel)
        customer = self._recipients.of(send.recipient)
        who = customer.name if customer else "a customer"
        return [Text.assemble(
            ("⊘ ", "yellow"), f"No {what[0].lower()}{what[1:]} for ", (who, "bold"),
            ": Nerve skipped it —"
            f" {send.reason} (marketing by {_CHANNELS[send.channel]} needs an opt-in; the ones"
            " skipped later are counted, not shown)",
        )]  # fmt: skip

    def _held_back(self, send: Send) -> Text:
        customer = self._recipients.of(send.recipient)
        who = customer.name if customer else "a customer"
        what = _named(send)
        details = send.details or {}
        until = _until(send.reason)
        line = Text.assemble(
            ("⏸ ", "yellow"), ("Held back: ", "bold yellow"), f"{what} to ", (who, "bold"),
            f" — {details.get('why', 'over the fatigue cap')}",
        )  # fmt: skip
        if until is not None:
            line.append(f"; it waits until {until:%H:%M:%S}, when the oldest of them leaves the"
                        f" {details.get('window', '')} window")  # fmt: skip
        return line


def _named(send: Send) -> str:
    """ "Cart reminder by SMS", "App offer push", "Second cart reminder mail"."""
    node = send.node or ""
    if send.channel == "email":
        return f"{STEP_MAILS.get(node, 'A')} mail"
    name = STEP_NAMES.get(node, "A")
    return f"{name} by SMS" if send.channel == "sms" else f"{name} {send.channel}"


def _over_cap(details: dict[str, Any] | None) -> bool:
    """Held back by the fatigue cap (rather than by quiet hours or the best send time)."""
    return bool(details) and "limit" in (details or {}) and "counted" in (details or {})


def _until(reason: str | None) -> datetime | None:
    """The time in "deferred to 2026-06-11T12:00:00+00:00: over the fatigue cap: …", local."""
    _, _, rest = (reason or "").partition("deferred to ")
    try:
        return datetime.fromisoformat(rest.split(": ", 1)[0]).astimezone()
    except ValueError:
        return None


def _short(text: str, most: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"
