"""Computed attributes: kept per leaf profile as events arrive, combined over a person's cluster.

Every combination is order-independent (min, max, sums, latest-by-event-time), so a mobile batch
that arrives hours late gives the same result as one that arrived on time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

HALF_LIFE_DAYS = 30.0
# How strongly an event says "interested in this": a purchase outweighs a cart add, a view.
INTEREST_WEIGHTS = {
    "Product Viewed": 1.0,
    "Product Clicked": 1.0,
    "Product Added to Wishlist": 2.0,
    "Product Added": 3.0,
    "Order Completed": 5.0,
}


def _decay(days: float) -> float:
    return math.pow(2.0, -days / HALF_LIFE_DAYS)


def interest_signals(payload: dict[str, Any]) -> list[tuple[str, float]]:
    """(key, weight) pairs such as ("category:Running Shoes", 3.0) carried by one event."""
    weight = INTEREST_WEIGHTS.get(str(payload.get("event")))
    properties = payload.get("properties")
    if weight is None or not isinstance(properties, dict):
        return []
    products = properties.get("products")
    items = products if isinstance(products, list) else [properties]
    signals = []
    for item in items:
        if not isinstance(item, dict):
            continue
        for field_name in ("category", "brand"):
            value = item.get(field_name)
            if isinstance(value, str) and value.strip():
                signals.append((f"{field_name}:{value.strip()[:100]}", weight))
    return signals


def add_interest(
    interests: dict[str, Any], at: datetime, signals: list[tuple[str, float]]
) -> dict[str, Any]:
    """Decayed scores stored as {"as_of": iso, "scores": {...}}; returns the new value."""
    if not signals:
        return interests
    scores = dict(interests.get("scores") or {})
    as_of = datetime.fromisoformat(interests["as_of"]) if interests.get("as_of") else at
    if at > as_of:
        factor = _decay((at - as_of).total_seconds() / 86400)
        scores = {key: value * factor for key, value in scores.items()}
        as_of = at
    factor = _decay((as_of - at).total_seconds() / 86400)
    for key, weight in signals:
        scores[key] = scores.get(key, 0.0) + weight * factor
    # Six decimals are plenty for a ranking, and short numbers take JSON's fast path when the
    # profile is read again (a float's 17 digits would send it through nerve/numbers.py's exact
    # re-read every time).
    return {"as_of": as_of.isoformat(), "scores": {k: round(v, 6) for k, v in scores.items()}}


def decayed_scores(interests: dict[str, Any], now: datetime) -> dict[str, float]:
    if not interests.get("as_of"):
        return {}
    factor = _decay((now - datetime.fromisoformat(interests["as_of"])).total_seconds() / 86400)
    return {key: value * factor for key, value in (interests.get("scores") or {}).items()}


@dataclass
class PersonStats:
    """Computed attributes of a whole person (all profiles of a cluster)."""

    first_seen: datetime | None = None
    last_seen: datetime | None = None
    timezone: str | None = None
    timezone_at: datetime | None = None
    sources: dict[str, str] = field(default_factory=dict)
    interests: dict[str, float] = field(default_factory=dict)

    def absorb(self, leaf: Any, now: datetime) -> None:
        if leaf.first_seen and (self.first_seen is None or leaf.first_seen < self.first_seen):
            self.first_seen = leaf.first_seen
        if leaf.last_seen and (self.last_seen is None or leaf.last_seen > self.last_seen):
            self.last_seen = leaf.last_seen
        if leaf.timezone_at and (self.timezone_at is None or leaf.timezone_at > self.timezone_at):
            self.timezone, self.timezone_at = leaf.timezone, leaf.timezone_at
        for source_id, seen in (leaf.sources or {}).items():
            self.sources[source_id] = max(seen, self.sources.get(source_id, seen))
        for key, score in decayed_scores(leaf.interests or {}, now).items():
            self.interests[key] = self.interests.get(key, 0.0) + score


def leaf_update(leaf: Any, payload: dict[str, Any], at: datetime, source_id: str) -> dict[str, Any]:
    """Column values to set on a leaf profile after attaching one event."""
    values: dict[str, Any] = {}
    if leaf.first_seen is None or at < leaf.first_seen:
        values["first_seen"] = at
    if leaf.last_seen is None or at > leaf.last_seen:
        values["last_seen"] = at
    context = payload.get("context")
    timezone = context.get("timezone") if isinstance(context, dict) else None
    if (
        isinstance(timezone, str)
        and timezone
        and (leaf.timezone_at is None or at >= leaf.timezone_at)
    ):
        values["timezone"], values["timezone_at"] = timezone[:64], at
    sources = dict(leaf.sources or {})
    if sources.get(source_id, "") < at.isoformat():
        sources[source_id] = at.isoformat()
        values["sources"] = sources
    interests = add_interest(leaf.interests or {}, at, interest_signals(payload))
    if interests is not (leaf.interests or {}):
        values["interests"] = interests
    return values
