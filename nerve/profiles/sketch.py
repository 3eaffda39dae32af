"""A person built in memory from scripted events, shaped exactly like the person view: the
time-travel simulator's people. The same rules as the stored profile — latest-by-event-time
traits, decayed interests, each order once — without a database."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from nerve.identity.extract import identifiers, traits_of
from nerve.identity.rules import MergeRules
from nerve.orders.pipeline import order_of
from nerve.profiles import computed, traits
from nerve.profiles.schemas import ComputedAttributes, Person, PersonIdentifier

_RULES = MergeRules()


class PersonSketch:
    def __init__(self, person_id: str) -> None:
        self.person_id = person_id
        self._identifiers: set[tuple[str, str]] = set()
        self._traits: dict[str, tuple[datetime, Any]] = {}
        self._leaf = SimpleNamespace(first_seen=None, last_seen=None, timezone=None,
                                     timezone_at=None, sources={}, interests={})  # fmt: skip
        self._orders: dict[str, tuple[float, datetime]] = {}
        self._last_at: datetime | None = None

    def observe(self, event: dict[str, Any], at: datetime) -> None:
        if "type" not in event:  # scripted events may leave it out, as Segment's `track` does not
            event = {"type": "track" if "event" in event else "identify", **event}
        self._last_at = at if self._last_at is None else max(at, self._last_at)
        self._identifiers |= {(i.type, i.value) for i in identifiers(event, _RULES)}
        for name, value in traits_of(event).items():
            if traits.wins((at, value), self._traits.get(name), False):
                self._traits[name] = (at, value)
        vars(self._leaf).update(computed.leaf_update(self._leaf, event, at, "scenario"))
        order = order_of(event)
        if order is not None and order[0] not in self._orders:
            self._orders[order[0]] = (order[1], at)

    def view(self) -> dict[str, Any]:
        """The person as flow conditions see them (`profile.traits.x`, `profile.computed.y`)."""
        stats = computed.PersonStats()
        stats.absorb(self._leaf, self._last_at or datetime.now().astimezone())
        spent = round(sum(total for total, _ in self._orders.values()), 2)
        count = len(self._orders)
        interests = sorted(stats.interests.items(), key=lambda kv: (-kv[1], kv[0]))
        return Person(
            id=self.person_id,
            merged_ids=[],
            identifiers=[PersonIdentifier(type=t, value=v) for t, v in sorted(self._identifiers)],
            traits={name: value for name, (_, value) in sorted(self._traits.items())},
            computed=ComputedAttributes(
                first_seen=stats.first_seen,
                last_seen=stats.last_seen,
                sources=[],
                order_count=count,
                total_spent=spent,
                average_order_value=round(spent / count, 2) if count else None,
                last_order_at=max((at for _, at in self._orders.values()), default=None),
                timezone=stats.timezone,
                interests={key: round(score, 4) for key, score in interests},
            ),
        ).model_dump()
