"""The `webhook` action's sender: POST the step as JSON — the node's body and headers rendered
for the person and the event — to a webhook endpoint (signed per Standard Webhooks,
nerve/webhooks) or to the node's URL (unsigned), under the outbound policy, and note each
attempt in the message log.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from liquid.exceptions import LiquidError
from prometheus_client import Counter

from nerve import numbers
from nerve.channels import context
from nerve.flows.calls import ActionCall, ActionFailed, ActionRejected
from nerve.flows.webhook.log import WebhookLog
from nerve.flows.webhook.parameters import request_template
from nerve.outbound import http
from nerve.outbound.policy import OutboundPolicy, OutboundRefused
from nerve.webhooks import bodies, signing
from nerve.webhooks import service as webhook_endpoints

_KEEP_ANSWER_BYTES = 200  # of an answer, for the step or the dead letter: a hint, not a copy

ANSWERS = Counter(
    "nerve_webhook_answers_total",
    "Receivers' answers to webhook steps: `sent` (2xx), `throttled` (429), `down` (5xx, 408, "
    "425, timeouts, no connection: retried), `gone` (410 from an endpoint: disabled), "
    "`refused` (other 4xx, 3xx)",
    ["outcome"],
)


def request_body(call: ActionCall, data: Any = None) -> Any:
    """What is POSTed: Nerve's envelope around the rendered `data`, or — `envelope: false` —
    the rendered body alone."""
    if call.params.get("envelope") is False:
        return data
    return {
        "flow": call.flow,
        "run_id": call.run_id,
        "node": call.node,
        "profile_id": call.profile_id,
        "data": call.params.get("body", {}) if data is None else data,
        "trigger": call.trigger,
        "person": call.person,
    }


@dataclass(frozen=True)
class _Destination:
    url: object  # a version published before a check may hold anything: checked at the call
    endpoint: str | None = None  # the endpoint's name; None: the node's own `url`
    secrets: tuple[str, ...] = ()  # signing secrets, newest first


@dataclass
class _Attempt:
    """What the message log notes of one attempt."""

    recipient: str | None
    details: dict[str, Any] = field(default_factory=dict)


class WebhookSender:
    """POSTs the call as JSON, signed when it goes to an endpoint. One pooled HTTP client for
    all calls: building a client per call (its TLS context) cost ~40 ms, more than the rest
    of a flow step together."""

    def __init__(
        self,
        outbound: OutboundPolicy | None = None,
        endpoints: webhook_endpoints.Endpoints | None = None,
        **client: Any,
    ) -> None:
        self._outbound = outbound or OutboundPolicy()
        self._endpoints = endpoints
        # Where the endpoints are read, the log is written (without them: tests of the HTTP).
        self._log = WebhookLog(endpoints.engine) if endpoints is not None else None
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)
        self._client = http.client(self._outbound, limits=limits, **client)

    def close(self) -> None:
        self._client.close()

    def __call__(self, call: ActionCall) -> dict[str, Any]:
        attempt = _attempt_of(call)
        try:
            result = self._send(call, attempt)
        except ActionRejected as exc:
            self._note(call, attempt, "failed", str(exc))
            raise
        except ActionFailed as exc:
            self._note(call, attempt, "queued", f"will retry: {exc}")
            raise
        self._note(call, attempt, "sent", None)
        return result

    def _count(self, call: ActionCall, attempt: _Attempt, logged: str) -> None:
        """The receiver's answer in nerve_webhook_answers_total (a refusal before any request,
        such as a disabled endpoint, is not one)."""
        status = attempt.details.get("http_status")
        if logged == "sent":
            ANSWERS.labels("sent").inc()
        elif logged == "queued":
            ANSWERS.labels("throttled" if status == 429 else "down").inc()
        elif status is not None:
            gone = status == 410 and isinstance(call.params.get("endpoint"), str)
            ANSWERS.labels("gone" if gone else "refused").inc()

    def _send(self, call: ActionCall, attempt: _Attempt) -> dict[str, Any]:
        destination = self._destination(call)
        # Checked again as written: the version may predate the check, or the policy changed.
        try:
            url = http.check_url(self._outbound, destination.url)
        except OutboundRefused as exc:
            where = f"endpoint {destination.endpoint!r}" if destination.endpoint else "`url`"
            raise ActionRejected(f"webhook {where} refused: {exc}") from None
        content, extra = self._rendered(call)
        timestamp = str(int(time.time()))
        headers = {
            **extra,
            "content-type": "application/json",
            # Standard Webhooks: the same id on every attempt lets the receiver deduplicate.
            "webhook-id": call.idempotency_key,
            "webhook-timestamp": timestamp,
            "idempotency-key": call.idempotency_key,
        }
        if destination.secrets:
            try:  # over the exact bytes sent, with this attempt's timestamp
                headers["webhook-signature"] = signing.signature(
                    destination.secrets, call.idempotency_key, timestamp, content
                )
            except signing.InvalidSecret as exc:  # set by hand through /api/v1/secrets
                raise ActionRejected(f"webhook endpoint {destination.endpoint!r}: {exc}; "
                                     f"`nerve webhooks rotate {destination.endpoint}` makes a "
                                     "new one") from None  # fmt: skip
        status, answer, location = self._post(url, content, headers, call)
        attempt.details["http_status"] = status
        if status == 410 and destination.endpoint is not None:
            self._gone(call, destination.endpoint)
        return _outcome(status, answer, location)

    def _rendered(self, call: ActionCall) -> tuple[bytes, dict[str, str]]:
        """The body's bytes and the node's own headers, rendered for this step's person and
        event (the person read only when a template names something)."""
        template = request_template(call.params)
        if not template.personal:
            return numbers.dumps(request_body(call)), template.headers
        person = self._log.person(call) if self._log is not None else {}
        seen = {**context.of_event(call.trigger), "person": person}
        try:
            data = bodies.render_body(template, seen)
            headers = bodies.render_headers(template, seen)
        except (ValueError, LiquidError) as exc:
            raise ActionRejected(f"webhook body: {exc}") from None
        return numbers.dumps(request_body(call, data)), headers

    def _destination(self, call: ActionCall) -> _Destination:
        name = call.params.get("endpoint")
        if name is None:
            return _Destination(call.params.get("url"))
        if self._endpoints is None:
            raise ActionRejected("webhook endpoints cannot be read by this sender")
        try:
            target = self._endpoints.target(call.workspace_id, str(name))
        except webhook_endpoints.Unusable as exc:
            raise ActionRejected(str(exc)) from None
        return _Destination(target.url, target.name, target.secrets)

    def _gone(self, call: ActionCall, name: str) -> None:
        """RFC 9110 §15.5.11: 410 Gone says the receiver is gone for good, so the endpoint is
        disabled — later steps to it are dead-lettered without a request — until enabled."""
        assert self._endpoints is not None
        reason = f"the receiver answered 410 Gone (flow {call.flow}, step {call.node})"
        self._endpoints.gone(call.workspace_id, name, reason)
        raise ActionRejected(
            f"receiver answered 410 Gone: the webhook endpoint {name!r} is now disabled; "
            f"`nerve webhooks enable {name}` once it takes webhooks again, then replay"
        )

    def _post(
        self, url: httpx.URL, content: bytes, headers: dict[str, str], call: ActionCall
    ) -> tuple[int, bytes, str]:
        # The node's timeout bounds the whole attempt: httpx's own timeouts apply per read, so
        # a receiver trickling its answer would otherwise hold the attempt indefinitely.
        deadline = time.monotonic() + call.timeout
        # Header values as UTF-8 (a rendered name may hold an umlaut; httpx's own default
        # would refuse anything beyond ASCII).
        raw = [(name.encode(), value.encode()) for name, value in headers.items()]
        try:
            with self._client.stream(
                "POST", url, content=content, headers=raw, timeout=call.timeout
            ) as response:
                answer = b""
                for chunk in response.iter_bytes():
                    if time.monotonic() > deadline:
                        raise ActionFailed(f"no complete answer within {call.timeout:g}s")
                    answer = (answer + chunk)[:_KEEP_ANSWER_BYTES]
        except OutboundRefused as exc:  # what the host resolves to now
            raise ActionRejected(f"webhook refused by the outbound policy: {exc}") from None
        except httpx.HTTPError as exc:
            raise ActionFailed(f"{type(exc).__name__}: {exc}") from exc
        location = response.headers.get("location", "")[:_KEEP_ANSWER_BYTES]
        return response.status_code, answer, location

    def _note(
        self, call: ActionCall, attempt: _Attempt, status: str, reason: str | None
    ) -> None:  # fmt: skip
        self._count(call, attempt, status)
        if self._log is not None:
            self._log.record(call, attempt.recipient, status, reason, attempt.details)


def _attempt_of(call: ActionCall) -> _Attempt:
    """How the log names where the step goes: the endpoint, or the URL's host (its path and
    query may hold a receiver's token, so never the whole URL)."""
    name = call.params.get("endpoint")
    if isinstance(name, str):
        return _Attempt(name, {"endpoint": name})
    try:
        host = httpx.URL(str(call.params.get("url"))).host or None
    except httpx.InvalidURL:
        host = None
    return _Attempt(host, {"url_host": host} if host else {})


def _outcome(status: int, answer: bytes, location: str) -> dict[str, Any]:
    if status in (408, 425, 429) or status >= 500:
        raise ActionFailed(f"receiver answered {status}")
    if status >= 400:
        text = answer.decode(errors="replace")
        raise ActionRejected(f"receiver refused with {status}: {text}")
    if status >= 300:
        # Never followed: the address it points to was checked by no one, and a POST may not
        # be repeated elsewhere without the sender's say (RFC 9110 §15.4).
        raise ActionRejected(
            f"receiver answered {status}, redirecting to {location or '(no location)'}; "
            "redirects are not followed: put the URL they point to in the flow"
        )
    return {"status": status}
