"""Item-to-item co-occurrence with scipy sparse matrices: frequently bought together (same
order), customers who bought this also bought (same person, another order), also viewed (same
person viewed both). Imported only by training (numpy and scipy load with it).

Raw co-occurrence counts favour whatever sells most (everyone's basket has the bestseller), so
each count is normalised by how often both items occur (cosine) and shrunk towards zero while
the evidence is thin: two baskets of a pair say less than twenty.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy import sparse

from nerve.recommendations.interactions import Interactions

# Each item keeps its best neighbours; the serving side never needs more.
NEIGHBOURS = 20
# Cosine is multiplied by count / (count + SHRINK): a pair seen once keeps a third of its score.
SHRINK = 2.0

Neighbours = dict[int, list[tuple[int, float]]]


def incidence(rows: Iterable[tuple[int, int]], shape: tuple[int, int]) -> sparse.csr_matrix:
    """A 0/1 matrix with a one at each (row, column) pair (repeats count once)."""
    pairs = np.array(list(rows), dtype=np.int64).reshape(-1, 2)
    data = np.ones(len(pairs), dtype=np.float32)
    matrix = sparse.csr_matrix((data, (pairs[:, 0], pairs[:, 1])), shape=shape)
    matrix.data[:] = 1.0  # duplicates were summed
    return matrix


def cooccurrence(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    """Item x item counts of rows (orders, people) holding both; the diagonal cleared."""
    counts = (matrix.T @ matrix).tocsr()
    counts.setdiag(0)
    counts.eliminate_zeros()
    return counts


def normalised(counts: sparse.csr_matrix, occurrences: np.ndarray) -> sparse.csr_matrix:
    """Shrunk cosine: count / sqrt(n_i n_j) x count / (count + SHRINK)."""
    coo = counts.tocoo()
    norm = np.sqrt(occurrences[coo.row] * occurrences[coo.col])
    scores = coo.data / np.maximum(norm, 1.0) * coo.data / (coo.data + SHRINK)
    return sparse.csr_matrix((scores, (coo.row, coo.col)), shape=counts.shape)


def top_neighbours(scores: sparse.csr_matrix, n: int = NEIGHBOURS) -> Neighbours:
    """Each item's best `n` neighbours (index, score), best first; ties by index."""
    found: Neighbours = {}
    for item in range(scores.shape[0]):
        start, end = scores.indptr[item], scores.indptr[item + 1]
        if start == end:
            continue
        columns, values = scores.indices[start:end], scores.data[start:end]
        order = np.lexsort((columns, -values))[:n]
        found[item] = [(int(columns[k]), float(values[k])) for k in order if values[k] > 0]
    return found


def bought_together(data: Interactions) -> Neighbours:
    orders = incidence(((o, i) for _, i, o in data.bought), (data.order_count, len(data.items)))
    counts = cooccurrence(orders)
    return top_neighbours(normalised(counts, np.asarray(orders.sum(axis=0)).ravel()))


def also_bought(data: Interactions) -> Neighbours:
    """People who bought both in different orders: pairs of one person's baskets, less the
    pairs only ever bought in one basket together (those are `bought_together`)."""
    shape = (len(data.people), len(data.items))
    people = incidence(((p, i) for p, i, _ in data.bought), shape)
    orders = incidence(((o, i) for _, i, o in data.bought), (data.order_count, len(data.items)))
    counts = (cooccurrence(people) - cooccurrence(orders)).tocsr()
    counts.data = np.maximum(counts.data, 0)
    counts.eliminate_zeros()
    return top_neighbours(normalised(counts, np.asarray(people.sum(axis=0)).ravel()))


def also_viewed(data: Interactions) -> Neighbours:
    views = incidence(data.viewed, (len(data.people), len(data.items)))
    counts = cooccurrence(views)
    return top_neighbours(normalised(counts, np.asarray(views.sum(axis=0)).ravel()))
