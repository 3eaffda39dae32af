"""One training run of a workspace: read what people did, compute the co-occurrence
neighbours, the implicit model's neighbours and the bestsellers, and replace the stored ones in
one transaction with a record of the run. Called by the background trainer, the CLI and the
benchmark's database check. numpy, scipy and implicit load here, not when Nerve starts."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from nerve.db.base import utcnow
from nerve.db.engine import write_transaction
from nerve.recommendations import popularity, reading, store
from nerve.recommendations.interactions import Interactions

MODEL = "bm25"  # implicit's BM25 item-item model: best on bench/recommendations_quality.py
Progress = Callable[[str], None]


def _named(
    data: Interactions, found: dict[int, list[tuple[int, float]]]
) -> dict[str, list[tuple[str, float]]]:
    return {data.items[i]: [(data.items[n], round(s, 6)) for n, s in near]
            for i, near in found.items()}  # fmt: skip


def compute(
    data: Interactions, category_of: dict[str, str | None], progress: Progress
) -> tuple[dict[str, Any], dict[str, list[tuple[str, float]]], dict[str, float]]:
    """(kind → sku → neighbours, category → bestsellers, seconds per step)."""
    seconds: dict[str, float] = {}
    neighbours: dict[str, Any] = {}
    if not (data.items and data.people):  # nothing to learn: numpy and friends stay unloaded
        return neighbours, {}, seconds
    from nerve.recommendations import model, similarity

    steps: dict[str, Callable[[Interactions], dict[int, list[tuple[int, float]]]]] = {
        "bought_together": similarity.bought_together, "also_bought": similarity.also_bought,
        "also_viewed": similarity.also_viewed, "personal": model.personal_neighbours,
    }  # fmt: skip
    for kind, step in steps.items():
        progress(kind)
        started = time.perf_counter()
        neighbours[kind] = _named(data, step(data))
        seconds[kind] = round(time.perf_counter() - started, 3)
    progress("popular")
    started = time.perf_counter()
    popular = popularity.popular(data, category_of)
    seconds["popular"] = round(time.perf_counter() - started, 3)
    return neighbours, popular, seconds


def train(
    engine: Engine, workspace_id: str, *, now: datetime | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Train the workspace now; the run's record. A failure is recorded as a failed run (the
    stored recommendations stay as they were) and raised."""
    started_at = now or utcnow()
    report = progress or (lambda step: None)
    clock = time.perf_counter()
    try:
        report("reading")
        with engine.connect() as conn:
            data = reading.interactions(conn, workspace_id, started_at)
            category_of = reading.categories(conn, workspace_id)
        read_seconds = round(time.perf_counter() - clock, 3)
        neighbours, popular, seconds = compute(data, category_of, report)
        report("storing")
        with write_transaction(engine) as conn:
            rows = store.replace(conn, workspace_id, neighbours, popular)
            seconds |= {"read": read_seconds, "total": round(time.perf_counter() - clock, 3)}
            run: dict[str, Any] = {"model": MODEL, "status": "trained", "started_at": started_at,
                                   "counts": data.counts() | {"rows": rows},
                                   "metrics": {"seconds": seconds}}  # fmt: skip
            run["id"] = store.record_run(conn, workspace_id, run)
    except Exception as exc:
        with write_transaction(engine) as conn:
            store.record_run(conn, workspace_id, {
                "model": MODEL, "status": "failed", "started_at": started_at, "counts": {},
                "metrics": {}, "error": f"{type(exc).__name__}: {exc}"[:1000]})  # fmt: skip
        raise
    return run
