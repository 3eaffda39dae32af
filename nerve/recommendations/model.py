"""The per-person model, trained with `implicit` on the person x item matrix of implicit
feedback (purchases weigh more than cart adds, cart adds more than views), kept as each item's
most similar items. Imported only by training: numpy, scipy and implicit load with it.

Why neighbours and not a list per person: a shop with 1,000,000 profiles would store and
rewrite 1,000,000 lists on every run, most for people who never come back, and each list would
be stale the moment its person views something new. Items are few (thousands), their
neighbour lists small; at request time `scoring.py` sums the neighbours of the person's own
recent items (a handful of indexed reads), so a view a second ago already counts.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import sparse

from nerve.recommendations.interactions import CART_ADD, PURCHASE, VIEW, Interactions
from nerve.recommendations.similarity import NEIGHBOURS, Neighbours

# Which of implicit's models: BM25-weighted item-item neighbours measured best on the quality
# benchmark (bench/recommendations_quality.py; ALS beside it), and train in well under a second
# per 100,000 order lines.
KINDS = ("bm25", "als", "cosine")


def feedback(data: Interactions) -> sparse.csr_matrix:
    """Person x item confidence: each act adds its weight; log-damped so a person who viewed
    one item fifty times does not drown their purchases."""
    rows: list[int] = []
    columns: list[int] = []
    weights: list[float] = []
    for acts, weight in ((data.viewed, VIEW), (data.carted, CART_ADD)):
        for person, item in acts:
            rows.append(person)
            columns.append(item)
            weights.append(weight)
    for person, item, _ in data.bought:
        rows.append(person)
        columns.append(item)
        weights.append(PURCHASE)
    matrix = sparse.csr_matrix(
        (np.array(weights, dtype=np.float32), (np.array(rows), np.array(columns))),
        shape=(len(data.people), len(data.items)),
    )
    matrix.data = np.log1p(matrix.data).astype(np.float32)
    return matrix


def _model(kind: str, seed: int) -> Any:
    # Lazy: implicit (and its compiled extensions) load only when a run trains.
    from implicit.als import AlternatingLeastSquares
    from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

    if kind == "als":
        return AlternatingLeastSquares(factors=48, regularization=0.05, iterations=15,
                                       random_state=seed, num_threads=1)  # fmt: skip
    if kind == "cosine":
        return CosineRecommender(K=NEIGHBOURS * 2, num_threads=1)
    return BM25Recommender(K=NEIGHBOURS * 2, num_threads=1)


def personal_neighbours(data: Interactions, kind: str = "bm25", seed: int = 13) -> Neighbours:
    """Each item's most similar items by the trained model, best first."""
    if not data.items or not data.people:
        return {}
    from implicit.utils import ParameterWarning
    from threadpoolctl import threadpool_limits

    matrix = feedback(data)
    # One BLAS thread: implicit warns (and runs slower) with a threaded BLAS, and the worker
    # shares its cores with the flows.
    with threadpool_limits(1, "blas"), warnings.catch_warnings():
        # implicit's BM25/cosine models weigh the matrix into COO form themselves and then
        # warn that their own next step wanted CSR (implicit 0.7.x): not ours to fix.
        warnings.simplefilter("ignore", ParameterWarning)
        model = _model(kind, seed)
        model.fit(matrix, show_progress=False)
        items = np.arange(len(data.items))
        ids, scores = model.similar_items(items, N=min(NEIGHBOURS + 1, len(data.items)))
    found: Neighbours = {}
    for item, (neighbours, values) in enumerate(zip(ids, scores, strict=True)):
        kept = [(int(n), float(s)) for n, s in zip(neighbours, values, strict=True)
                if n != item and s > 0 and np.isfinite(s)]  # fmt: skip
        if kept:
            found[item] = kept[:NEIGHBOURS]
    return found
