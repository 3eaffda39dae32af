"""The popularity baseline: what sold most lately, over the whole shop and per category (each
level of a product's category path counts: "Apparel > Shoes" sells in "Apparel", in "Shoes"
and in "Apparel > Shoes"). It answers people and items the models know nothing about, and it
is what the models must beat (bench/recommendations_quality.py)."""

from __future__ import annotations

import math
from collections import defaultdict

from nerve.recommendations.interactions import Interactions

# A sale's weight halves every HALF_LIFE_DAYS: last month's bestseller beats last year's.
HALF_LIFE_DAYS = 30.0
# Per category and overall, the best this many (a page of recommendations and the spares that
# exclusions eat).
KEPT = 50
ALL = ""  # the category key of the whole shop


def categories_of(path: str | None) -> list[str]:
    """The category keys a product counts under: each level and the whole path."""
    if not path:
        return []
    levels = [level.strip() for level in path.split(">") if level.strip()]
    return list(dict.fromkeys([*levels, " > ".join(levels)]))


def popular(
    data: Interactions, category_of: dict[str, str | None]
) -> dict[str, list[tuple[str, float]]]:
    """Category key (ALL for the shop) → [(sku, score)], best first."""
    scores: dict[int, float] = defaultdict(float)
    for (_, item, _), age in zip(data.bought, data.bought_age, strict=True):
        scores[item] += math.pow(2.0, -age / HALF_LIFE_DAYS)
    by_category: dict[str, list[tuple[str, float]]] = defaultdict(list)
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], data.items[kv[0]]))
    for item, score in ranked:
        sku = data.items[item]
        for key in [ALL, *categories_of(category_of.get(sku))]:
            if len(by_category[key]) < KEPT:
                by_category[key].append((sku, round(score, 6)))
    return dict(by_category)
