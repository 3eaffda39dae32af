"""What a push provider is handed and what it answers: one message to one subscription.

Two providers implement `Provider`: Web Push to a browser's push service (nerve/channels/push/
webpush.py) and FCM HTTP v1 for mobile apps (nerve/channels/push/fcm.py). A provider never
raises for what a push service answers; it says what the answer means for the subscription:
delivered, gone (remove it), retry (later, the same message), refused (not this message)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

Outcome = Literal["delivered", "gone", "retry", "refused"]
URGENCIES = ("very-low", "low", "normal", "high")  # RFC 8030 §5.3
DEFAULT_TTL = 24 * 3600


@dataclass(frozen=True)
class Target:
    """A subscription as a send needs it."""

    id: str
    kind: str  # webpush, fcm
    endpoint: str  # the push service URL, or the FCM registration token
    keys: dict[str, str] | None  # p256dh, auth (Web Push)
    identifier: str  # type:value it was registered under (its consent's address)


@dataclass(frozen=True)
class Options:
    ttl: int = DEFAULT_TTL  # seconds the push service keeps an undelivered message
    urgency: str = "normal"


@dataclass(frozen=True)
class Answer:
    target: Target
    outcome: Outcome
    status: int | None  # the push service's HTTP status; None when it was not reached
    service: str  # the push service's origin (the log names no endpoint: it is a capability)
    note: str = ""

    def detail(self) -> dict[str, Any]:
        """The line of the message log's details for this subscription."""
        found = {"subscription": self.target.id, "kind": self.target.kind,
                 "service": self.service, "status": self.status,
                 "outcome": self.outcome}  # fmt: skip
        return found | ({"note": self.note[:300]} if self.note else {})


class Provider(Protocol):
    kind: str

    def send(
        self, target: Target, payload: dict[str, Any], options: Options, credentials: Any
    ) -> Answer:
        """Hand one message to the push service of one subscription."""
        ...


def outcome_of(status: int) -> Outcome:
    """What an HTTP answer means, where the provider knows no better (RFC 8030 §5, §8)."""
    if 200 <= status < 300:
        return "delivered"
    if status in (404, 410):  # the subscription expired or was revoked
        return "gone"
    if status in (408, 425, 429) or status >= 500:
        return "retry"
    return "refused"
