"""Ranking rules, case by case: due consumables first, bought and excluded skus never, what
the shop cannot sell never, popular lists fill in order."""

from __future__ import annotations

from nerve.recommendations.scoring import DUE_SCORE, Act, rank


def test_due_consumables_lead_and_bought_or_excluded_skus_stay_out() -> None:
    acts = [Act("SHOE", 5.0, 1.0), Act("TENT", 1.0, 0.0)]
    neighbours = {"SHOE": [("SOCK", 0.9), ("CART-ITEM", 0.8), ("SOLD-OUT", 0.7)],
                  "TENT": [("PEG", 0.5), ("SHOE", 0.4)]}  # fmt: skip
    bought = {"SHOE": 1.0, "COFFEE": 40.0, "TEA": 5.0}
    usage = {"COFFEE": 30, "TEA": 30}
    popular = [("popular", [("CAP", 3.0), ("SOCK", 2.0), ("HAT", 1.0)])]
    ranked = rank(acts, neighbours, bought, usage, popular, lambda sku: sku != "SOLD-OUT", 5,
                  excluded=["CART-ITEM"])  # fmt: skip
    assert [(r.sku, r.reason) for r in ranked] == [
        ("COFFEE", "due_again"), ("SOCK", "personal"), ("PEG", "personal"),
        ("CAP", "popular"), ("HAT", "popular")]  # fmt: skip
    assert ranked[0].score > DUE_SCORE


def test_nobody_gets_the_popular_lists_in_order() -> None:
    popular = [("popular_in_category", [("A", 2.0)]), ("popular", [("A", 5.0), ("B", 4.0)])]
    ranked = rank([], {}, {}, {}, popular, lambda sku: True, 3)
    assert [(r.sku, r.reason) for r in ranked] == [("A", "popular_in_category"), ("B", "popular")]
