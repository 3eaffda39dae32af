"""The demo's pages for what went beside mail: `/demo/phones`, every SMS and app push that reached
a customer's phone (at the demo's stand-ins for the SMS provider and FCM), and `/demo/slack`, the
alerts the shop's team got in its Slack channel, with their Block Kit blocks laid out roughly as
Slack shows them. Each as JSON too (`.json`), newest first.

Everything shown is escaped: the texts are Nerve's rendering of templates over customer data.
"""

from __future__ import annotations

import html
import re
from typing import Any

from fastapi import APIRouter
from starlette.responses import HTMLResponse, JSONResponse

from nerve.demo.catalog import SHOP_NAME
from nerve.demo.mail_pages import NAVIGATION, page
from nerve.demo.phones import PhoneMessage, PhoneNetwork
from nerve.demo.recipients import Recipients
from nerve.demo.team_alerts import CHANNEL, TeamAlert, TeamChannel

PHONES = "/demo/phones"
SLACK = "/demo/slack"
_BOLD = re.compile(r"\*([^*\n]+)\*")


def phone_router(network: PhoneNetwork, team: TeamChannel, recipients: Recipients) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get(PHONES)
    def phones() -> HTMLResponse:
        return page("Phones", _phones(network, recipients), refresh=True)

    @router.get(f"{PHONES}.json")
    def phones_json() -> JSONResponse:
        messages = network.messages()
        return JSONResponse({"data": [_message(m, recipients) for m in messages]})

    @router.get(SLACK)
    def slack() -> HTMLResponse:
        return page("Slack", _slack(team), refresh=True)

    @router.get(f"{SLACK}.json")
    def slack_json() -> JSONResponse:
        return JSONResponse({"data": [_alert(alert) for alert in team.alerts()]})

    return router


def _message(message: PhoneMessage, recipients: Recipients) -> dict[str, Any]:
    customer = recipients.of(message.to)
    return {
        "number": message.number,
        "received_at": message.received_at.isoformat(),
        "kind": message.kind,
        "to": message.to,
        "customer": customer.name if customer else None,
        "title": message.title,
        "body": message.body,
        "url": message.url,
        "sent_by": message.sent_by,
        "provider_id": message.provider_id,
    }


def _alert(alert: TeamAlert) -> dict[str, Any]:
    return {"number": alert.number, "received_at": alert.received_at.isoformat(),
            "channel": CHANNEL, "text": alert.text, "blocks": alert.blocks}  # fmt: skip


def _phones(network: PhoneNetwork, recipients: Recipients) -> str:
    messages = network.messages()
    intro = NAVIGATION + (
        f"<h1>What reached the customers' phones</h1><p class='muted'>Every SMS and app push"
        f" Nerve sent in this demo run, as the demo's stand-ins for the SMS provider (Twilio's"
        f" API) and Firebase Cloud Messaging received them, newest first:"
        f" {_counted(network.count('sms'), 'SMS', 'SMS')} and"
        f" {_counted(network.count('push'), 'push', 'pushes')} so far ({len(messages)} kept)."
        f" Refreshes every five seconds; <a href='{PHONES}.json'>as JSON</a>.</p>"
    )
    if not messages:
        return intro + (
            "<p>Nothing yet. Orders sent by post get an SMS with the tracking number once"
            " packed; app users who allowed offers get the app's offer half a minute after they"
            " open it; shoppers who ticked the SMS box get their cart reminder by text.</p>"
        )
    rows = "".join(_row(message, recipients) for message in messages)
    head = "<tr><th>#</th><th>Received</th><th>To</th><th>Message</th><th>Sent by</th></tr>"
    return f"{intro}<table>{head}{rows}</table>"


def _row(message: PhoneMessage, recipients: Recipients) -> str:
    customer = recipients.of(message.to)
    who = html.escape(customer.name) if customer else "an unknown customer"
    if message.kind == "sms":
        to = f"{who}<br><span class='muted'>SMS to {html.escape(message.to)}</span>"
        shown = f"<div class='bubble'>{html.escape(message.body)}</div>"
    else:
        device = html.escape(recipients.device_name(message.to))
        to = f"{who}<br><span class='muted'>push to the app on their {device}</span>"
        link = f"<br><span class='muted'>opens {html.escape(message.url)}</span>" \
            if message.url else ""  # fmt: skip
        shown = (f"<div class='push'><b>{html.escape(message.title or SHOP_NAME)}</b><br>"
                 f"{html.escape(message.body)}{link}</div>")  # fmt: skip
    return (
        f"<tr><td>{message.number}</td><td>{message.received_at.astimezone():%H:%M:%S}</td>"
        f"<td>{to}</td><td>{shown}</td>"
        f"<td class='muted'>{html.escape(message.sent_by or '')}</td></tr>"
    )


def _slack(team: TeamChannel) -> str:
    alerts = team.alerts()
    intro = NAVIGATION + (
        f"<h1>{CHANNEL}</h1><p class='muted'>The alerts Nerve posted to the team's Slack channel"
        f" in this demo run (to the demo's Slack-shaped receiver), newest first:"
        f" {_counted(team.count, 'alert', 'alerts')} so far ({len(alerts)} kept). Refreshes"
        " every five seconds;"
        f" <a href='{SLACK}.json'>as JSON</a>.</p>"
    )
    if not alerts:
        return intro + "<p>No alert yet: every order of 150 EUR or more gets one at once.</p>"
    return intro + "".join(_card(alert) for alert in alerts)


def _counted(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def _card(alert: TeamAlert) -> str:
    parts = [_block(block) for block in alert.blocks] or [f"<p>{_mrkdwn(alert.text)}</p>"]
    return (
        f"<div class='alert'><p class='muted'>Nerve · {alert.received_at.astimezone():%H:%M:%S}"
        f"</p>{''.join(parts)}</div>"
    )


def _block(block: dict[str, Any]) -> str:
    """Block Kit's common blocks, roughly as Slack lays them out; others by their type."""
    kind = block.get("type")
    if kind == "header":
        return f"<h3>{html.escape(_text(block.get('text')))}</h3>"
    if kind == "section":
        shown = f"<p>{_mrkdwn(_text(block.get('text')))}</p>" if block.get("text") else ""
        fields = block.get("fields")
        if isinstance(fields, list) and fields:
            cells = "".join(f"<div>{_mrkdwn(_text(field))}</div>" for field in fields)
            shown += f"<div class='fields'>{cells}</div>"
        return shown
    if kind == "context":
        elements = block.get("elements")
        texts = [_mrkdwn(_text(e)) for e in elements] if isinstance(elements, list) else []
        return f"<p class='muted'>{' · '.join(texts)}</p>"
    if kind == "divider":
        return "<hr>"
    return f"<p class='muted'>({html.escape(str(kind))} block)</p>"


def _text(value: Any) -> str:
    """A text object's words (`{"type": "mrkdwn", "text": …}`), or a plain string's."""
    if isinstance(value, dict):
        return str(value.get("text") or "")
    return value if isinstance(value, str) else ""


def _mrkdwn(text: str) -> str:
    """Slack's *bold* and line breaks, over escaped text."""
    return _BOLD.sub(r"<b>\1</b>", html.escape(text)).replace("\n", "<br>")
