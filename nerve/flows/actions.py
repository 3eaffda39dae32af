"""Actions a flow node can take, behind one stable interface, with a registry.

Remote actions (webhook; later email, SMS, push, Slack) run outside the database transaction
and must be idempotent at the receiver: they pass the step's idempotency key (run + node +
visit) on. Local actions (update_profile, add_tag) run inside the transaction that completes
the step. Staging runs use a recording sender that delivers nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from sqlalchemy import Connection

from nerve.profiles.service import set_traits


class ActionFailed(Exception):
    """Worth retrying: the receiver was down, slow or overloaded."""


class ActionRejected(Exception):
    """Can never succeed as it is (bad parameters, a 4xx): goes to the dead-letter queue at once."""


@dataclass(frozen=True)
class ActionCall:
    workspace_id: str
    run_id: str
    flow: str
    node: str
    profile_id: str
    idempotency_key: str
    params: dict[str, Any]
    trigger: dict[str, Any]
    timeout: float
    environment: str


@dataclass
class RecordingSender:
    """Staging and tests: remembers what would have been sent."""

    sent: list[ActionCall] = field(default_factory=list)

    def __call__(self, call: ActionCall) -> dict[str, Any]:
        self.sent.append(call)
        return {"recorded": True}


_KEEP_ANSWER_BYTES = 200  # of a refusal's body, for the dead letter


class WebhookSender:
    """POSTs the call as JSON. One pooled HTTP client for all calls: building a client per
    call (its TLS context) cost ~40 ms, more than the rest of a flow step together."""

    def __init__(self) -> None:
        self._client = httpx.Client(
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16)
        )

    def close(self) -> None:
        self._client.close()

    def __call__(self, call: ActionCall) -> dict[str, Any]:
        url = call.params.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ActionRejected("webhook needs `url` (http or https)")
        body = {
            "flow": call.flow,
            "run_id": call.run_id,
            "node": call.node,
            "profile_id": call.profile_id,
            "data": call.params.get("body", {}),
            "trigger": call.trigger,
        }
        headers = {
            "content-type": "application/json",
            # Standard Webhooks: the same id on every attempt lets the receiver deduplicate.
            "webhook-id": call.idempotency_key,
            "webhook-timestamp": str(int(time.time())),
            "idempotency-key": call.idempotency_key,
        }
        # The node's timeout bounds the whole attempt: httpx's own timeouts apply per read, so
        # a receiver trickling its answer would otherwise hold the attempt indefinitely.
        deadline = time.monotonic() + call.timeout
        try:
            with self._client.stream(
                "POST", url, content=orjson.dumps(body), headers=headers, timeout=call.timeout
            ) as response:
                answer = b""
                for chunk in response.iter_bytes():
                    if time.monotonic() > deadline:
                        raise ActionFailed(f"no complete answer within {call.timeout:g}s")
                    answer = (answer + chunk)[:_KEEP_ANSWER_BYTES]
        except httpx.HTTPError as exc:
            raise ActionFailed(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code in (408, 425, 429) or response.status_code >= 500:
            raise ActionFailed(f"receiver answered {response.status_code}")
        if response.status_code >= 400:
            text = answer.decode(errors="replace")
            raise ActionRejected(f"receiver refused with {response.status_code}: {text}")
        return {"status": response.status_code}


RemoteAction = Callable[[ActionCall], dict[str, Any]]
REMOTE_ACTIONS = ("webhook",)


def remote_senders() -> dict[str, RemoteAction]:
    """The real senders of remote actions, one per action name; close them with `close`."""
    return {"webhook": WebhookSender()}


def close(senders: dict[str, RemoteAction]) -> None:
    for sender in senders.values():
        closer = getattr(sender, "close", None)
        if closer is not None:
            closer()


def update_profile(conn: Connection, call: ActionCall, now: Any) -> dict[str, Any]:
    values = call.params.get("traits")
    if not isinstance(values, dict) or not values:
        raise ActionRejected("update_profile needs `traits`: {name: value}")
    set_traits(conn, call.workspace_id, call.profile_id, values, now)
    return {"traits": sorted(values)}


def add_tag(conn: Connection, call: ActionCall, now: Any) -> dict[str, Any]:
    tag = call.params.get("tag")
    if not isinstance(tag, str) or not tag:
        raise ActionRejected("add_tag needs `tag`")
    set_traits(conn, call.workspace_id, call.profile_id, {f"tag:{tag[:200]}": True}, now)
    return {"tag": tag}


LocalAction = Callable[[Connection, ActionCall, Any], dict[str, Any]]
LOCAL: dict[str, LocalAction] = {"update_profile": update_profile, "add_tag": add_tag}


def known(name: str) -> bool:
    return name in REMOTE_ACTIONS or name in LOCAL


def names() -> list[str]:
    """Every action a node can take, for messages that list them."""
    return sorted({*REMOTE_ACTIONS, *LOCAL})
