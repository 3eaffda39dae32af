"""The `webhook` action: POST the step as JSON — the flow, the run, the trigger and the node's
`body` — to the node's URL, under the outbound policy."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nerve.flows import problems
from nerve.flows.calls import ActionCall, ActionFailed, ActionRejected
from nerve.outbound import http
from nerve.outbound.policy import OutboundPolicy, OutboundRefused

_KEEP_ANSWER_BYTES = 200  # of an answer, for the step or the dead letter: a hint, not a copy


class WebhookParameters(BaseModel):
    """A webhook node's `with`."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="http or https; refused targets: docs/webhooks.md")
    body: Any = Field(default_factory=dict, description="Sent as `data`")


_HINTS = {"url": "must be an http or https URL"}


def parameter_problems(params: dict[str, Any], outbound: OutboundPolicy) -> list[dict[str, str]]:
    """What is wrong with a webhook node's `with`, each at its path under `with`: its fields,
    and a URL that is not http(s) or whose host, as written, the outbound policy refuses."""
    try:
        checked = WebhookParameters.model_validate(params)
    except ValidationError as exc:
        return problems.describe(exc, params, WebhookParameters, _HINTS)
    try:
        http.check_url(outbound, checked.url)
    except OutboundRefused as exc:
        return [{"path": "url", "reason": str(exc)}]
    return []


def request_body(call: ActionCall) -> dict[str, Any]:
    return {
        "flow": call.flow,
        "run_id": call.run_id,
        "node": call.node,
        "profile_id": call.profile_id,
        "data": call.params.get("body", {}),
        "trigger": call.trigger,
    }


class WebhookSender:
    """POSTs the call as JSON. One pooled HTTP client for all calls: building a client per
    call (its TLS context) cost ~40 ms, more than the rest of a flow step together."""

    def __init__(self, outbound: OutboundPolicy | None = None, **client: Any) -> None:
        self._outbound = outbound or OutboundPolicy()
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)
        self._client = http.client(self._outbound, limits=limits, **client)

    def close(self) -> None:
        self._client.close()

    def __call__(self, call: ActionCall) -> dict[str, Any]:
        # Checked again as written: the version may predate the check, or the policy changed.
        try:
            url = http.check_url(self._outbound, call.params.get("url"))
        except OutboundRefused as exc:
            raise ActionRejected(f"webhook `url` refused: {exc}") from None
        headers = {
            "content-type": "application/json",
            # Standard Webhooks: the same id on every attempt lets the receiver deduplicate.
            "webhook-id": call.idempotency_key,
            "webhook-timestamp": str(int(time.time())),
            "idempotency-key": call.idempotency_key,
        }
        status, answer, location = self._post(url, orjson.dumps(request_body(call)), headers, call)
        return _outcome(status, answer, location)

    def _post(
        self, url: httpx.URL, content: bytes, headers: dict[str, str], call: ActionCall
    ) -> tuple[int, bytes, str]:
        # The node's timeout bounds the whole attempt: httpx's own timeouts apply per read, so
        # a receiver trickling its answer would otherwise hold the attempt indefinitely.
        deadline = time.monotonic() + call.timeout
        try:
            with self._client.stream(
                "POST", url, content=content, headers=headers, timeout=call.timeout
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
