"""Slot definitions: every problem refused with its path and reason."""

from __future__ import annotations

from typing import Any

import pytest

from nerve.errors import InvalidSlot
from nerve.personalization.definition import canonical, parse_context, validate

BANNER: dict[str, Any] = {
    "key": "home_banner",
    "default": "winter",
    "variants": [{"key": "winter", "content": {"title": "Winter"}},
                 {"key": "running", "content": {"title": "Run"}}],
    "rules": [{"when": {"interest": {"key": "category:Running", "top": 3}}, "variant": "running",
               "from": "2026-01-01T00:00:00+00:00"}],
}  # fmt: skip


def _problems(data: Any) -> dict[str, str]:
    with pytest.raises(InvalidSlot) as raised:
        validate(data)
    return {p["path"]: p["reason"] for p in raised.value.problems}


def test_a_valid_slot_keeps_what_was_written() -> None:
    stored = canonical(validate(BANNER))
    assert stored["rules"][0]["from"].startswith("2026-01-01T00:00:00")
    assert validate(stored) == validate(BANNER)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"default": "summer"}, "default"),
        ({"default": None}, "default"),
        ({"key": "Home Banner"}, "key"),
        ({"rules": [{"variant": "nope"}]}, "rules.0.variant"),
        ({"rules": [{"variant": "running", "experiment": "x"}]}, "rules.0"),
        ({"rules": [{"when": {"segment": "a", "known": True}, "variant": "running"}]},
         "rules.0.when"),
        ({"rules": [{"when": {"interest": {"key": "category:Running"}}, "variant": "running"}]},
         "rules.0.when.interest"),
        ({"rules": [{"from": "2026-01-01T00:00:00", "variant": "running"}]}, "rules.0"),
        ({"rules": [{"context": ["category:Shoes"], "variant": "running"}]}, "rules.0.context"),
        ({"experiments": [{"key": "t", "holdout": 10, "arms": [
            {"key": "a", "variant": "running", "weight": 50},
            {"key": "b", "variant": "winter", "weight": 30}]}]}, "experiments.0"),
        ({"experiments": [{"key": "t", "arms": [
            {"key": "a", "variant": "gone", "weight": 100}]}]}, "experiments.0.arms.0.variant"),
        ({"variants": [{"key": "winter", "content": {"x": "y" * 20_000}}]}, "variants.0.content"),
        ({"variants": [{"key": "winter", "pin": ["SKU"]}]}, "variants.0"),
        ({"surprise": 1}, "surprise"),
    ],
)  # fmt: skip
def test_a_problem_is_refused_with_its_path(change: dict[str, Any], path: str) -> None:
    assert path in _problems(BANNER | change)


def test_a_listing_rule_names_a_known_kind_of_context() -> None:
    listing = {"key": "shoes", "kind": "product_list",
               "variants": [{"key": "promo", "pin": ["SHOE-1"]}],
               "rules": [{"context": ["category:Shoes", "aisle:7"], "variant": "promo"}]}  # fmt: skip
    assert "rules.0.context.1" in _problems(listing)
    assert parse_context("category:  Running   Shoes ") == ("category", "running shoes")
    with pytest.raises(ValueError, match="category:NAME"):
        parse_context("query:")
