"""The current status of an order from its history: the latest by time, ties by lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from nerve.orders.statuses import current

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _history(*facts: tuple[str, int]) -> list[SimpleNamespace]:
    return [SimpleNamespace(status=s, at=T0 + timedelta(minutes=m)) for s, m in facts]


def test_the_latest_by_time_wins_whatever_the_arrival_order() -> None:
    arrived = _history(("delivered", 60), ("paid", 1), ("shipped", 30))
    assert current(arrived) == "delivered"
    assert current(list(reversed(arrived))) == "delivered"
    assert current(_history(("shipped", 30), ("delayed", 40))) == "delayed"
    assert current(_history(("delayed", 40), ("delivered", 90))) == "delivered"
    assert current(_history(("payment_failed", 1), ("paid", 5))) == "paid"


def test_a_tie_goes_to_the_later_step_of_the_lifecycle() -> None:
    assert current(_history(("shipped", 5), ("paid", 5))) == "shipped"
    assert current(_history(("cancelled", 5), ("paid", 5))) == "cancelled"
    assert current(_history(("refunded", 5), ("partly_refunded", 5))) == "refunded"


def test_no_status_is_placed() -> None:
    assert current([]) == "placed"
