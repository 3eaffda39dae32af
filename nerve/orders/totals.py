"""A person's order totals for their computed attributes: count, spend, AOV, last order.

Spend is exact (summed in SQL over ten-thousandths). Amounts in different currencies are never
added: spend and the average are in the person's main currency — the one most of their orders
are in (a tie: their latest order's) — and orders without a currency count in it. Orders in
other currencies still count in `count` and `last_at`, and are in `spent_by_currency`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from nerve.db.money import summed
from nerve.orders.models import Order

_NO_CURRENCY = ""


@dataclass(frozen=True)
class _Part:
    count: int
    spent: Decimal
    last_at: datetime


@dataclass(frozen=True)
class OrderTotals:
    count: int
    last_at: datetime | None
    # currency ("" for orders without one) → its orders' count, spend and latest time
    by_currency: dict[str, _Part] = field(default_factory=dict)

    @property
    def currency(self) -> str | None:
        """The person's main currency (None when no order names one)."""
        named = [(p.count, p.last_at, c) for c, p in self.by_currency.items() if c]
        return max(named)[2] if named else None

    def _main(self) -> list[_Part]:
        main = self.currency
        return [p for c, p in self.by_currency.items() if c in (main, _NO_CURRENCY)]

    @property
    def spent(self) -> Decimal:
        """Exact spend in the main currency."""
        return sum((p.spent for p in self._main()), Decimal("0.00"))

    @property
    def average(self) -> Decimal | None:
        """Average order value in the main currency, to the cent; None before any order."""
        count = sum(p.count for p in self._main())
        return (self.spent / count).quantize(Decimal("0.01")) if count else None

    @property
    def spent_by_currency(self) -> dict[str, Decimal]:
        return {c: p.spent for c, p in self.by_currency.items() if c}


def totals(conn: Connection, profile_ids: list[str]) -> OrderTotals:
    """Orders of a person (all their profiles): how many, how much, the latest."""
    return combine(list(totals_by_profile(conn, profile_ids).values()))


def totals_by_profile(conn: Connection, profile_ids: list[str]) -> dict[str, OrderTotals]:
    """Each profile's orders (of those with any), for people read together."""
    parts: dict[str, dict[str, _Part]] = {}
    for start in range(0, len(profile_ids), 5000):
        rows = conn.execute(
            select(
                Order.profile_id,
                Order.currency,
                func.count(),
                summed(func.sum(Order.total)),
                func.max(Order.placed_at),
            )
            .where(Order.profile_id.in_(profile_ids[start : start + 5000]))
            .group_by(Order.profile_id, Order.currency)
        )
        for profile_id, currency, count, spent, last_at in rows:
            parts.setdefault(str(profile_id), {})[currency or _NO_CURRENCY] = _Part(
                int(count), spent or Decimal(0), _aware(last_at)
            )
    return {profile: _totals(by) for profile, by in parts.items()}


def combine(parts: list[OrderTotals]) -> OrderTotals:
    """One person's totals from those of their profiles."""
    by: dict[str, _Part] = {}
    for totals_ in parts:
        for currency, part in totals_.by_currency.items():
            known = by.get(currency)
            by[currency] = part if known is None else _Part(
                known.count + part.count, known.spent + part.spent, max(known.last_at, part.last_at)
            )  # fmt: skip
    return _totals(by)


def _totals(by: dict[str, _Part]) -> OrderTotals:
    return OrderTotals(
        count=sum(p.count for p in by.values()),
        last_at=max((p.last_at for p in by.values()), default=None),
        by_currency=by,
    )


def _aware(value: Any) -> datetime:
    # max() comes back as the stored text on SQLite, without the column's type.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value  # type: ignore[no-any-return]
