"""Recommendation quality on a held-out split of generated orders: precision@10 and recall@10
of the shipped model (implicit's BM25 item-item neighbours, ranked as `for_person` ranks) and
of the popularity baseline side by side, with the alternatives measured to choose it, and the
training time of each.

    .venv/bin/python bench/recommendations_quality.py [--people 5000] [--products 500] [--seed 13]

The shop (nerve/recommendations/generated.py): products in 12 categories with a skewed
popularity, people with two favourite categories, consumables bought again from a loyal brand
about every usage period, complements bought together (a shoe with its sock, 60 %), views
before each order. Each person's last order is held out; everything before it trains. Figures
are printed, not asserted (the unit test asserts a margin on a smaller shop).
"""

from __future__ import annotations

import argparse
import time

from nerve.recommendations import generated, model, quality, similarity
from nerve.recommendations.quality import Score


def _row(score: Score, note: str) -> str:
    return (f"{score.name:<34} {score.precision:>8.4f} {score.recall:>8.4f} "
            f"{score.train_seconds:>8.2f}  {note}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    started = time.perf_counter()
    shop = generated.generate(args.people, args.products, seed=args.seed)
    split = quality.split(shop)
    print(f"{len(shop.products)} products, {args.people} people, {len(shop.orders)} orders; "
          f"{len(split.held_out)} people with a held-out last order; "
          f"train: {split.train.counts()}")  # fmt: skip
    print(f"{'':<34} {'prec@10':>8} {'rec@10':>8} {'train s':>8}")
    print(_row(quality.evaluate(split, "popularity baseline",
                                quality.popularity_ranker(split, shop), 0.0),
               "bestsellers the person has not bought"))  # fmt: skip
    rows = [
        ("model: implicit BM25 (shipped)", lambda: model.personal_neighbours(split.train, "bm25"),
         "neighbours of the person's acts + due consumables + popular fill"),
        ("implicit cosine", lambda: model.personal_neighbours(split.train, "cosine"), ""),
        ("implicit ALS (48 factors)", lambda: model.personal_neighbours(split.train, "als"),
         "similar items by item factors"),
        ("co-occurrence: also bought", lambda: similarity.also_bought(split.train), ""),
        ("co-occurrence: bought together", lambda: similarity.bought_together(split.train), ""),
        ("no neighbours", lambda: {}, "due consumables + popular in the person's categories"),
    ]  # fmt: skip
    for name, train, note in rows:
        neighbours, seconds = quality.timed(train)
        ranker = quality.neighbour_ranker(split, shop, neighbours)
        print(_row(quality.evaluate(split, name, ranker, seconds), note))
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
