"""The Slack channel for `Delivery`: a slack template rendered for the run's event and person,
POSTed as `{"text", "blocks"}` to the destination's incoming-webhook URL under the outbound
policy.

Slack answers `200 ok`; `429` (with Retry-After: one message a second per webhook, short
bursts allowed) and `5xx` are tried again with the engine's backoff; `400`, `403`, `404` and
`410` (`invalid_payload`, `invalid_token`, `no_service`, `channel_not_found`,
`channel_is_archived`) refuse the message for good, and the step is dead-lettered with the
answer and what to do. https://api.slack.com/messaging/webhooks#handling_errors
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from prometheus_client import Counter
from sqlalchemy import Connection, Engine

from nerve import numbers
from nerve.channels import context, templates
from nerve.channels.delivery import ChannelRequest, Delivery, Drafted, Outgoing
from nerve.channels.slack import destinations
from nerve.channels.smtp import SendDeferred, SendRefused
from nerve.errors import NotFound
from nerve.outbound import http
from nerve.outbound.policy import OutboundPolicy, OutboundRefused
from nerve.profiles.schemas import Person
from nerve.secrets.vault import Vault
from nerve.settings import Settings

TIMEOUT = 10.0  # seconds for a whole request: Slack answers in well under one
_KEEP_ANSWER_BYTES = 100  # Slack's answer is a word (`ok`, `no_service`)
# Answers that say the URL no longer posts anywhere: revoked, or its channel gone.
_GONE = (403, 404, 410)

ANSWERS = Counter(
    "nerve_slack_answers_total",
    "Slack's answers to Nerve's posts: `sent`, `throttled` (429), `down` (5xx, timeouts, no "
    "connection: retried), `gone` (403/404/410: the URL no longer posts), `refused` (400, "
    "other 4xx, a redirect, the outbound policy)",
    ["outcome"],
)


class SlackChannel:
    name = "slack"
    address_type = "slack"
    needs_consent = False  # it goes to the shop's own team, not to a customer

    def __init__(
        self, vault: Vault, outbound: OutboundPolicy, shop: dict[str, Any] | None = None,
        timeout: float = TIMEOUT,
    ) -> None:  # fmt: skip
        self._vault, self._outbound, self._shop, self._timeout = vault, outbound, shop, timeout
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=8)
        self._client = http.client(outbound, limits=limits)

    def close(self) -> None:
        self._client.close()

    def draft(self, conn: Connection, request: ChannelRequest, person: Person | None) -> Drafted:
        """The message for the destination (NotFound when the destination or the template is
        missing: the step is dead-lettered saying which)."""
        name = str(request.params.get("destination") or "")
        url = destinations.url_of(conn, self._vault, request.workspace_id, name)
        if request.template is None:
            raise NotFound("a slack step names its template (with: {template: NAME})")
        version = templates.version(conn, request.workspace_id, request.template)
        if version.channel != "slack":
            raise NotFound(f"{request.template!r} is a {version.channel} template; this step "
                           "posts to Slack")  # fmt: skip
        view = templates.person_context(person) if person is not None else {}
        seen = {"shop": self._shop or {}, **request.context,
                **context.of_event(request.context.get("event")), "person": view}  # fmt: skip
        rendered = templates.render(version.compiled, seen, "slack")
        payload = {"text": rendered["text"]}
        if rendered.get("blocks"):
            payload["blocks"] = rendered["blocks"]
        return Drafted(
            recipient=name, content={"url": url, "payload": payload},
            summary=rendered["text"].split("\n", 1)[0], details={"destination": name},
            template_version_id=version.id,
        )  # fmt: skip

    def deliver(self, message: Outgoing) -> dict[str, Any]:
        content = message.drafted.content
        return self.post(str(message.drafted.recipient), content["url"], content["payload"])

    def post(self, name: str, url: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST a message to a destination's URL: Slack's status for the log's details;
        SendDeferred to try again later, SendRefused for good."""
        try:
            checked = http.check_url(self._outbound, url)
            status, answer, retry_after = self._post(checked, numbers.dumps(payload))
        except OutboundRefused as exc:
            ANSWERS.labels("refused").inc()
            raise SendRefused(f"the Slack destination {name!r} is refused by the outbound "
                              f"policy: {exc}") from None  # fmt: skip
        except httpx.HTTPError as exc:  # never the URL in the reason: it holds the token
            ANSWERS.labels("down").inc()
            raise SendDeferred(f"Slack could not be reached: {type(exc).__name__}") from None
        ANSWERS.labels(_kind(status)).inc()
        return _outcome(name, status, answer, retry_after)

    def _post(self, url: httpx.URL, content: bytes) -> tuple[int, str, str]:
        """Slack's status, the start of its answer and Retry-After, within the timeout for the
        whole request (httpx's own timeouts count per read)."""
        deadline = time.monotonic() + self._timeout
        headers = {"content-type": "application/json"}
        with self._client.stream(
            "POST", url, content=content, headers=headers, timeout=self._timeout
        ) as response:
            answer = b""
            for chunk in response.iter_bytes():
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("no complete answer in time")
                answer = (answer + chunk)[:_KEEP_ANSWER_BYTES]
        text = answer.decode(errors="replace").strip()
        return response.status_code, text, response.headers.get("retry-after", "")[:20]


def _kind(status: int) -> str:
    if 200 <= status < 300:
        return "sent"
    if status == 429:
        return "throttled"
    if status in (408, 425) or status >= 500:
        return "down"
    return "gone" if status in _GONE else "refused"


def _outcome(name: str, status: int, answer: str, retry_after: str) -> dict[str, Any]:
    """What Slack's answer means for the message: sent (its details), SendDeferred to try
    again, SendRefused for good with what to do."""
    said = f"{status} {answer}".strip()
    if 200 <= status < 300:
        return {"http_status": status}
    if status == 429:
        wait = f", Retry-After {retry_after}s" if retry_after else ""
        raise SendDeferred(f"Slack rate-limited the destination {name!r} (429{wait})")
    if status in (408, 425) or status >= 500:
        raise SendDeferred(f"Slack answered {said}")
    if status in _GONE:
        raise SendRefused(f"Slack refused the message to {name!r}: {said}; the webhook URL no "
                          "longer posts (revoked, or its channel archived or deleted): "
                          f"`nerve slack add {name} NEW_URL`, then replay")  # fmt: skip
    if status == 400:
        raise SendRefused(f"Slack refused the message to {name!r}: {said}; the template's "
                          "text or blocks are not what Slack takes: fix the template, then "
                          "replay")  # fmt: skip
    if 300 <= status < 400:
        raise SendRefused(f"Slack answered {status} for {name!r}, a redirect, which is not "
                          "followed: add the destination with the URL it points to")  # fmt: skip
    raise SendRefused(f"Slack refused the message to {name!r}: {said}")


def slack_delivery(
    engine: Engine, settings: Settings, vault: Vault, outbound: OutboundPolicy
) -> Delivery:
    """Slack needs nothing configured beyond NERVE_SECRET_KEY: each workspace adds its
    destinations (`nerve slack add`)."""
    shop = {"name": settings.shop_name, "url": settings.shop_url, "imprint": settings.shop_imprint}
    return Delivery(engine, SlackChannel(vault, outbound, shop))
