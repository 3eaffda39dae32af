"""The recommendation tables as training writes and serving reads them: neighbours and popular
items replaced per workspace in one transaction, runs recorded, the schedule claimed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from nerve.db.base import table
from nerve.db.dialect import dialect_of
from nerve.recommendations.models import (
    ItemNeighbor,
    PopularItem,
    RecommendationRun,
    RecommendationSchedule,
)

_BATCH = 5000  # rows per executemany
_CHUNK = 500  # keys per IN list

NeighbourLists = Mapping[str, Sequence[tuple[str, float]]]


def replace(
    conn: Connection, workspace_id: str, neighbours: Mapping[str, NeighbourLists],
    popular: Mapping[str, Sequence[tuple[str, float]]],
) -> int:  # fmt: skip
    """The workspace's neighbours (kind → sku → [(neighbour, score)]) and popular items
    (category → [(sku, score)]) become these; readers see the old or the new, never a mix
    (the caller's transaction). Rows written."""
    conn.execute(delete(ItemNeighbor).where(ItemNeighbor.workspace_id == workspace_id))
    conn.execute(delete(PopularItem).where(PopularItem.workspace_id == workspace_id))
    rows: list[dict[str, Any]] = [
        {"workspace_id": workspace_id, "kind": kind, "sku": sku, "rank": rank,
         "neighbor_sku": other, "score": score}
        for kind, lists in neighbours.items() for sku, found in lists.items()
        for rank, (other, score) in enumerate(found, 1)
    ]  # fmt: skip
    _insert(conn, table(ItemNeighbor), rows)
    ranked: list[dict[str, Any]] = [
        {"workspace_id": workspace_id, "category": category, "rank": rank, "sku": sku,
         "score": score}
        for category, found in popular.items() for rank, (sku, score) in enumerate(found, 1)
    ]  # fmt: skip
    _insert(conn, table(PopularItem), ranked)
    return len(rows) + len(ranked)


def _insert(conn: Connection, target: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _BATCH):
        conn.execute(insert(target), rows[start : start + _BATCH])


def neighbours(
    conn: Connection, workspace_id: str, kind: str, skus: Iterable[str]
) -> dict[str, list[tuple[str, float]]]:
    """Sku → its neighbours of `kind`, best first."""
    wanted = sorted(set(skus))
    found: dict[str, list[tuple[str, float]]] = {}
    for start in range(0, len(wanted), _CHUNK):
        query = (
            select(ItemNeighbor.sku, ItemNeighbor.neighbor_sku, ItemNeighbor.score)
            .where(ItemNeighbor.workspace_id == workspace_id, ItemNeighbor.kind == kind)
            .where(ItemNeighbor.sku.in_(wanted[start : start + _CHUNK]))
            .order_by(ItemNeighbor.sku, ItemNeighbor.rank)
        )
        for sku, other, score in conn.execute(query):
            found.setdefault(sku, []).append((other, score))
    return found


def popular(
    conn: Connection, workspace_id: str, categories: Sequence[str]
) -> dict[str, list[tuple[str, float]]]:
    """Category ("" for the shop) → its bestsellers, best first."""
    if not categories:
        return {}
    query = (
        select(PopularItem.category, PopularItem.sku, PopularItem.score)
        .where(PopularItem.workspace_id == workspace_id)
        .where(PopularItem.category.in_(list(categories)))
        .order_by(PopularItem.category, PopularItem.rank)
    )
    found: dict[str, list[tuple[str, float]]] = {}
    for category, sku, score in conn.execute(query):
        found.setdefault(category, []).append((sku, score))
    return found


def record_run(conn: Connection, workspace_id: str, values: dict[str, Any]) -> int:
    run = table(RecommendationRun)
    statement = insert(run).returning(run.c.id)
    return int(conn.execute(statement, values | {"workspace_id": workspace_id}).scalar_one())


def runs(conn: Connection, workspace_id: str, limit: int) -> list[dict[str, Any]]:
    query = (
        select(table(RecommendationRun))
        .where(RecommendationRun.workspace_id == workspace_id)
        .order_by(RecommendationRun.id.desc())
        .limit(limit)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


# --- the schedule -------------------------------------------------------------------------------


def schedule(conn: Connection, workspace_id: str) -> Any:
    return conn.execute(
        select(table(RecommendationSchedule)).where(
            RecommendationSchedule.workspace_id == workspace_id
        )
    ).first()


def ensure_scheduled(conn: Connection, workspace_ids: Iterable[str], due_at: datetime) -> None:
    """Workspaces without a schedule train at `due_at` (the first time: now)."""
    rows = [{"workspace_id": w, "due_at": due_at} for w in workspace_ids]
    if rows:
        statement = dialect_of(conn).insert_ignoring_duplicates(
            table(RecommendationSchedule), ["workspace_id"]
        )
        conn.execute(statement, rows)


def request(conn: Connection, workspace_id: str, now: datetime) -> datetime:
    """Train as soon as a worker looks (due now); the time it was asked."""
    statement = dialect_of(conn).upsert(
        table(RecommendationSchedule), ["workspace_id"], ["due_at", "requested_at"]
    )
    conn.execute(statement, {"workspace_id": workspace_id, "due_at": now, "requested_at": now})
    return now


def claim_due(conn: Connection, now: datetime, next_due: datetime) -> list[str]:
    """The workspaces due now, each moved on to `next_due` by this caller only: of two
    workers that read the same due time, the second's update matches no row."""
    rows = conn.execute(
        select(RecommendationSchedule.workspace_id, RecommendationSchedule.due_at)
        .where(RecommendationSchedule.due_at <= now)
        .order_by(RecommendationSchedule.due_at)
    ).all()
    claimed = []
    for workspace_id, due_at in rows:
        moved = conn.execute(
            update(RecommendationSchedule)
            .where(
                RecommendationSchedule.workspace_id == workspace_id,
                RecommendationSchedule.due_at == due_at,
            )
            .values(due_at=next_due, requested_at=None)
        )
        if moved.rowcount == 1:
            claimed.append(workspace_id)
    return claimed
