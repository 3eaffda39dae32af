"""Slots: each save a new immutable version (the latest one live), read back with every
version, deleted; and the per-process cache the personalization API decides from."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from nerve.audit import service as audit
from nerve.db.base import new_id, utcnow
from nerve.errors import InvalidSlot, NotFound
from nerve.personalization.definition import (
    SlotDefinition,
    canonical,
    segment_keys,
    validate,
)
from nerve.personalization.models import Slot, SlotVersion
from nerve.segments import membership

CACHE_SECONDS = 2.0  # a slot saved by another process is live here within this


@dataclass(frozen=True)
class Saved:
    key: str
    kind: str
    version: int
    unchanged: bool
    created_at: datetime


def check(conn: Connection, workspace_id: str, data: Any) -> SlotDefinition:
    """The definition, checked as a save checks it: also every segment it names exists."""
    slot = validate(data)
    missing = [
        {"path": path, "reason": f"no segment {key!r}"}
        for path, key in segment_keys(slot)
        if membership.segment_by_key(conn, workspace_id, key) is None
    ]
    if missing:
        raise InvalidSlot(missing)
    return slot


def save(conn: Connection, workspace_id: str, data: Any, actor: str) -> Saved:
    """Keep a new version and make it live; one equal to the live version saves nothing."""
    slot = check(conn, workspace_id, data)
    definition = canonical(slot)
    now = utcnow()
    row = conn.execute(
        select(Slot.id, Slot.active_version).where(
            Slot.workspace_id == workspace_id, Slot.key == slot.key
        )
    ).first()
    if row is None:
        slot_id, number = new_id("slot"), 1
        conn.execute(insert(Slot).values(
            id=slot_id, workspace_id=workspace_id, key=slot.key, kind=slot.kind,
            active_version=1, updated_at=now))  # fmt: skip
    else:
        live = _version_row(conn, row.id, row.active_version)
        if live is not None and live.definition == definition:
            return Saved(slot.key, slot.kind, row.active_version, True, live.created_at)
        slot_id = row.id
        latest = conn.scalar(select(func.max(SlotVersion.version))
                             .where(SlotVersion.slot_id == slot_id))  # fmt: skip
        number = (latest or 0) + 1
        conn.execute(update(Slot).where(Slot.id == slot_id)
                     .values(kind=slot.kind, active_version=number, updated_at=now))  # fmt: skip
    conn.execute(insert(SlotVersion).values(
        slot_id=slot_id, version=number, definition=definition, created_by=actor[:64]))  # fmt: skip
    audit.record(conn, workspace_id, actor, "slot.saved", f"{slot.key}@{number}")
    return Saved(slot.key, slot.kind, number, False, now)


def listed(conn: Connection, workspace_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(Slot.key, Slot.kind, Slot.active_version, Slot.created_at, Slot.updated_at,
               SlotVersion.definition)
        .join(SlotVersion, (SlotVersion.slot_id == Slot.id)
              & (SlotVersion.version == Slot.active_version))
        .where(Slot.workspace_id == workspace_id)
        .order_by(Slot.key)
    )  # fmt: skip
    return [_summary(row) for row in rows]


def detail(conn: Connection, workspace_id: str, key: str) -> dict[str, Any]:
    """The live version's definition and every version."""
    slot = _slot(conn, workspace_id, key)
    versions = conn.execute(
        select(SlotVersion.version, SlotVersion.created_by, SlotVersion.created_at)
        .where(SlotVersion.slot_id == slot.id)
        .order_by(SlotVersion.version)
    ).all()
    live = _version_row(conn, slot.id, slot.active_version)
    assert live is not None
    return {
        **_summary(slot, live.definition),
        "definition": live.definition,
        "versions": [{"version": v.version, "created_by": v.created_by,
                      "created_at": v.created_at} for v in versions],
    }  # fmt: skip


def remove(conn: Connection, workspace_id: str, key: str, actor: str) -> None:
    """Forget the slot and its versions; its impressions stay for its statistics."""
    slot = _slot(conn, workspace_id, key)
    conn.execute(delete(SlotVersion).where(SlotVersion.slot_id == slot.id))
    conn.execute(delete(Slot).where(Slot.id == slot.id))
    audit.record(conn, workspace_id, actor, "slot.deleted", key[:64])


def exists(conn: Connection, workspace_id: str, key: str) -> bool:
    return _slot_row(conn, workspace_id, key) is not None


def _slot(conn: Connection, workspace_id: str, key: str) -> Any:
    found = _slot_row(conn, workspace_id, key)
    if found is None:
        raise NotFound(f"no slot {key[:100]!r}")
    return found


def _slot_row(conn: Connection, workspace_id: str, key: str) -> Any:
    return conn.execute(
        select(Slot.id, Slot.key, Slot.kind, Slot.active_version, Slot.created_at,
               Slot.updated_at)
        .where(Slot.workspace_id == workspace_id, Slot.key == key)
    ).first()  # fmt: skip


def _version_row(conn: Connection, slot_id: str, version: int) -> Any:
    return conn.execute(
        select(SlotVersion.definition, SlotVersion.created_at).where(
            SlotVersion.slot_id == slot_id, SlotVersion.version == version
        )
    ).first()


def _summary(row: Any, definition: dict[str, Any] | None = None) -> dict[str, Any]:
    definition = definition if definition is not None else row.definition
    return {"key": row.key, "kind": row.kind, "name": definition.get("name", ""),
            "version": row.active_version, "created_at": row.created_at,
            "updated_at": row.updated_at}  # fmt: skip


class SlotCache:
    """The live slots of each workspace, by key. The short list of (key, slot id, version) is
    re-read after CACHE_SECONDS (or at once after a save in this process); definitions are
    parsed once per version, which never changes."""

    def __init__(self, seconds: float = CACHE_SECONDS) -> None:
        self._seconds = seconds
        self._live: dict[str, tuple[float, dict[str, SlotDefinition]]] = {}
        self._parsed: dict[tuple[str, int], SlotDefinition] = {}
        self._lock = threading.Lock()

    def forget(self, workspace_id: str) -> None:
        self._live.pop(workspace_id, None)

    def slots(self, conn: Connection, workspace_id: str) -> dict[str, SlotDefinition]:
        hit = self._live.get(workspace_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        read_at = time.monotonic()
        live: dict[str, SlotDefinition] = {}
        rows = conn.execute(
            select(Slot.id, Slot.key, Slot.active_version).where(Slot.workspace_id == workspace_id)
        ).all()
        for row in rows:
            live[row.key] = self._definition(conn, row.id, row.active_version)
        with self._lock:
            if len(self._live) > 10_000:
                self._live.clear()
            self._live[workspace_id] = (read_at + self._seconds, live)
        return live

    def _definition(self, conn: Connection, slot_id: str, version: int) -> SlotDefinition:
        found = self._parsed.get((slot_id, version))
        if found is None:
            stored = _version_row(conn, slot_id, version)
            found = validate(stored.definition)
            with self._lock:
                if len(self._parsed) > 100_000:
                    self._parsed.clear()
                self._parsed[(slot_id, version)] = found
        return found
