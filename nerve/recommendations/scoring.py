"""Ranking one person's recommendations from what they did and the trained neighbours: pure
functions, so the service (with what it read) and the quality benchmark (with generated data)
rank exactly alike.

A person's recent acts (purchases, cart adds, views, each weighed and fading with age) vote for
their items' neighbours; what they bought is left out unless it is a consumable due again
(bought at least its usage period ago: replenishment comes first); what is in their cart and
what the shop cannot sell now is left out; the popular items (in the categories the person
shops, then the whole shop) fill the rest.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

# An act's vote halves every HALF_LIFE_DAYS.
HALF_LIFE_DAYS = 30.0
# Due consumables rank above every neighbour vote (scores are below 100 by construction).
DUE_SCORE = 100.0


@dataclass(frozen=True)
class Act:
    sku: str
    weight: float  # interactions.PURCHASE, CART_ADD, VIEW
    age_days: float


@dataclass(frozen=True)
class Ranked:
    sku: str
    score: float
    reason: str  # due_again | personal | popular_in_category | popular


def votes(
    acts: Iterable[Act], neighbours: Mapping[str, Sequence[tuple[str, float]]]
) -> dict[str, float]:
    """Each neighbour's summed vote from the person's acts."""
    found: dict[str, float] = {}
    for act in acts:
        weight = act.weight * math.pow(2.0, -max(act.age_days, 0.0) / HALF_LIFE_DAYS)
        for sku, score in neighbours.get(act.sku, ()):
            found[sku] = found.get(sku, 0.0) + weight * score
    return found


def due_again(
    bought_age: Mapping[str, float], usage_days: Mapping[str, int | None]
) -> dict[str, float]:
    """Consumables bought at least their usage period ago: the longer overdue, the higher."""
    found: dict[str, float] = {}
    for sku, age in bought_age.items():
        usage = usage_days.get(sku)
        if usage and age >= usage:
            found[sku] = DUE_SCORE + min(age / usage, 10.0)
    return found


def rank(
    acts: Sequence[Act],
    neighbours: Mapping[str, Sequence[tuple[str, float]]],
    bought_age: Mapping[str, float],
    usage_days: Mapping[str, int | None],
    popular: Sequence[tuple[str, Sequence[tuple[str, float]]]],
    allowed: Callable[[str], bool],
    limit: int,
    excluded: Iterable[str] = (),
) -> list[Ranked]:
    """The person's top `limit`. `popular` lists (reason, [(sku, score)]) in the order they
    fill; `allowed` says whether the shop can recommend a sku now (active, in stock, in the
    asked category); `excluded` are skus never to show (the open cart's)."""
    never = set(excluded)
    due = due_again(bought_age, usage_days)
    chosen: dict[str, Ranked] = {}

    def take(sku: str, score: float, reason: str) -> None:
        if sku in chosen or sku in never or not allowed(sku):
            return
        if sku in bought_age and sku not in due:
            return
        chosen[sku] = Ranked(sku, round(score, 6), reason)

    for sku, score in sorted(due.items(), key=lambda kv: (-kv[1], kv[0])):
        take(sku, score, "due_again")
    for sku, score in sorted(votes(acts, neighbours).items(), key=lambda kv: (-kv[1], kv[0])):
        if len(chosen) >= limit:
            break
        take(sku, score, "personal")
    for reason, listed in popular:
        for sku, score in listed:
            if len(chosen) >= limit:
                break
            take(sku, score, reason)
    return list(chosen.values())[:limit]
