"""How good the recommendations are on a held-out split: each person's last order is hidden,
the models and the popularity baseline learn from everything else, and each ranks ten
products for the person as they were just before that order; precision@10 and recall@10
count the hidden order's products among them. Used by the quality benchmark and its test."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from nerve.recommendations import popularity, scoring, similarity
from nerve.recommendations.generated import Order, Shop
from nerve.recommendations.interactions import PURCHASE, VIEW, Interactions

TOP = 10


@dataclass(frozen=True)
class Score:
    name: str
    precision: float
    recall: float
    train_seconds: float
    people: int


@dataclass
class Split:
    train: Interactions
    held_out: dict[str, Order]
    history: dict[str, list[Order]]  # each person's orders before the held-out one
    end_day: float


def split(shop: Shop) -> Split:
    by_person: dict[str, list[Order]] = defaultdict(list)
    for order in shop.orders:
        by_person[order.person].append(order)
    end = max(o.day for o in shop.orders)
    data = Interactions()
    for product in shop.products:
        data.item(product.sku)
    held_out: dict[str, Order] = {}
    history: dict[str, list[Order]] = {}
    for person, orders in by_person.items():
        kept = orders[:-1] if len(orders) > 1 else orders
        if len(orders) > 1:
            held_out[person], history[person] = orders[-1], kept
        for n, order in enumerate(kept):
            for sku in order.viewed:
                data.add_view(person, sku)
            for sku in order.skus:
                data.add_purchase(person, (person, n), sku, end - order.day)
    return Split(data, held_out, history, end)


Ranker = Callable[[str, list[scoring.Act], dict[str, float]], list[str]]


def _acts(orders: list[Order], now: float) -> tuple[list[scoring.Act], dict[str, float]]:
    acts: list[scoring.Act] = []
    bought: dict[str, float] = {}
    for order in orders:
        acts += [scoring.Act(sku, VIEW, now - order.day) for sku in order.viewed]
        acts += [scoring.Act(sku, PURCHASE, now - order.day) for sku in order.skus]
        bought.update({sku: now - order.day for sku in order.skus})
    return acts, bought


def evaluate(the_split: Split, name: str, rank: Ranker, seconds: float) -> Score:
    precision = recall = 0.0
    for person, hidden in the_split.held_out.items():
        acts, bought = _acts(the_split.history[person], hidden.day)
        shown = rank(person, acts, bought)[:TOP]
        hits = len(set(shown) & set(hidden.skus))
        precision += hits / TOP
        recall += hits / len(hidden.skus)
    count = max(len(the_split.held_out), 1)
    return Score(name, precision / count, recall / count, seconds, len(the_split.held_out))


def popularity_ranker(the_split: Split, shop: Shop) -> Ranker:
    """The baseline: the shop's bestsellers the person has not bought."""
    overall = popularity.popular(the_split.train, shop.category_of).get(popularity.ALL, [])

    def rank(person: str, acts: list[scoring.Act], bought: dict[str, float]) -> list[str]:
        ranked = scoring.rank([], {}, bought, {}, [("popular", overall)], lambda s: True, TOP)
        return [r.sku for r in ranked]

    return rank


def neighbour_ranker(the_split: Split, shop: Shop, neighbours: similarity.Neighbours) -> Ranker:
    """As `service.for_person` ranks: neighbours of the person's acts, due consumables first,
    popular in the person's categories and then the shop's to fill."""
    items = the_split.train.items
    by_sku = {items[i]: [(items[n], s) for n, s in found] for i, found in neighbours.items()}
    popular = popularity.popular(the_split.train, shop.category_of)
    usage = shop.usage_days

    def rank(person: str, acts: list[scoring.Act], bought: dict[str, float]) -> list[str]:
        shopped = _top_categories(acts, shop.category_of)
        fill = [("popular_in_category", popular.get(c, [])) for c in shopped]
        fill.append(("popular", popular.get(popularity.ALL, [])))
        ranked = scoring.rank(acts, by_sku, bought, usage, fill, lambda s: True, TOP)
        return [r.sku for r in ranked]

    return rank


def _top_categories(acts: list[scoring.Act], category_of: dict[str, str | None]) -> list[str]:
    weights: dict[str, float] = defaultdict(float)
    for act in acts:
        category = category_of.get(act.sku)
        if category:
            weights[category] += act.weight
    return sorted(weights, key=lambda c: -weights[c])[:2]


def timed(work: Callable[[], similarity.Neighbours]) -> tuple[similarity.Neighbours, float]:
    started = time.perf_counter()
    found = work()
    return found, time.perf_counter() - started
