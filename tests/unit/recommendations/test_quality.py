"""The model beats the popularity baseline on generated orders with co-purchase and
repeat-purchase structure (fixed seed): measured 0.058 against 0.025 precision@10 and 0.39
against 0.17 recall@10; the test asks for 1.8 times and 1.8 times."""

from __future__ import annotations

from nerve.recommendations import generated, model, quality


def test_the_model_beats_popularity_on_held_out_orders() -> None:
    shop = generated.generate(people=1200, products=150, seed=7)
    split = quality.split(shop)
    baseline = quality.evaluate(split, "popularity", quality.popularity_ranker(split, shop), 0)
    neighbours = model.personal_neighbours(split.train)
    learned = quality.evaluate(split, "model", quality.neighbour_ranker(split, shop, neighbours), 0)
    assert learned.people == baseline.people > 500
    assert learned.precision > 1.8 * baseline.precision
    assert learned.recall > 1.8 * baseline.recall


def test_the_same_seed_gives_the_same_shop() -> None:
    first, again = generated.generate(people=50, seed=3), generated.generate(people=50, seed=3)
    assert first.orders == again.orders and first.products == again.products
    assert generated.generate(people=50, seed=4).orders != first.orders
