"""What a `send_push` node's `with` may say beside the options every send has:

    with: {template: coffee_offer, topic: offers, ttl: 3600, urgency: low}

`ttl`: seconds a push service keeps the message for a device that is offline (RFC 8030 §5.2;
default a day — a cart reminder is stale after that); `urgency`: very-low, low, normal or high
(RFC 8030 §5.3; high also makes FCM deliver at once on Android)."""

from __future__ import annotations

from typing import Any

from nerve.channels.push.providers import URGENCIES

PARAMETERS: tuple[str, ...] = ("ttl", "urgency")
# FCM keeps a message four weeks at most; Web Push services cap TTL lower themselves.
MAX_TTL_SECONDS = 28 * 24 * 3600


def parameter_problems(params: dict[str, Any]) -> list[dict[str, str]]:
    problems = []
    ttl = params.get("ttl")
    if ttl is not None and (
        not isinstance(ttl, int) or isinstance(ttl, bool) or not 0 <= ttl <= MAX_TTL_SECONDS
    ):
        problems.append({"path": "ttl", "reason": f"seconds, 0 to {MAX_TTL_SECONDS} (28 days)"})
    urgency = params.get("urgency")
    if urgency is not None and urgency not in URGENCIES:
        problems.append({"path": "urgency", "reason": f"one of {', '.join(URGENCIES)}"})
    return problems
