"""The flow condition language: useful operators, missing values, and nothing dangerous."""

from __future__ import annotations

from typing import Any

import pytest

from nerve.flows.expressions import ExpressionError, parse

SCOPE: dict[str, Any] = {
    "properties": {"total": 120.5, "category": "Running Shoes", "items": [{"sku": "A"}]},
    "profile": {
        "traits": {"vip": True, "email": "anna@example.com"},
        "computed": {"order_count": 0},
    },
    "trigger": {"properties": {"cart_id": "c-1"}},
    "event": {"properties": {"cart_id": "c-1"}},
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("properties.total > 100", True),
        ("properties.total >= 50 and profile.traits.vip == true", True),
        ("properties.category in ['Running Shoes', 'Trail Shoes']", True),
        ("event.properties.cart_id == trigger.properties.cart_id", True),
        ("profile.computed.order_count > 0 or not profile.traits.vip", False),
        ("exists(profile.traits.phone)", False),
        ("not exists(profile.traits.phone)", True),
        ("properties.missing > 3", False),  # a missing value satisfies no ordering
        ("properties.missing == null", True),
        ("properties.items[0].sku == 'A'", True),
        ("properties.total * 2 > 240", True),
        ("lower(profile.traits.email) == 'anna@example.com'", True),
        ("1 < properties.total < 200", True),
    ],
)
def test_expressions_evaluate(source: str, expected: bool) -> None:
    assert parse(source).test(SCOPE) is expected


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os').system('true')",
        "properties.__class__",
        "open('/etc/passwd')",
        "[x for x in properties]",
        "lambda: 1",
        "properties.total if true else 0",
        "properties.total >",
        "exists(x=1)",
    ],
)
def test_anything_outside_the_language_is_refused(source: str) -> None:
    with pytest.raises(ExpressionError):
        parse(source)
