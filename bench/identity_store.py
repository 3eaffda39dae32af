"""The identity benchmark's shop: a workspace with web, app and kiosk sources, and the events
path of the tracking API (normalise, then the event writer's insert) without HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from nerve.db.dialect import dialect_of
from nerve.db.engine import write_transaction
from nerve.db.migrate import upgrade
from nerve.settings import Settings
from nerve.tracking.normalize import Envelope, normalize
from nerve.workspaces.service import create_source, ensure_workspace

_MAX_EVENT_BYTES = Settings().max_event_bytes


@dataclass(frozen=True)
class Shop:
    workspace_id: str
    sources: dict[str, str]  # source kind → source id


class Inserter:
    """Normalise messages and store them as the event writer does, one chunk per commit."""

    def __init__(self, engine: Engine, shop: Shop) -> None:
        self.engine = engine
        self.shop = shop
        self.normalize_seconds = 0.0
        self.insert_seconds = 0.0

    def insert(self, messages: Iterable[tuple[dict[str, Any], str]]) -> int:
        """Messages in time order; the chunk arrives as one request per source a second after
        its last event (received_at only fills the column: messages carry their own time)."""
        chunk = list(messages)
        started = time.perf_counter()
        received_at = datetime.fromisoformat(chunk[-1][0]["timestamp"]) + timedelta(seconds=1)
        envelopes = {
            kind: Envelope(self.shop.workspace_id, source_id, received_at)
            for kind, source_id in self.shop.sources.items()
        }
        rows = [
            normalize(message, None, envelopes[kind], _MAX_EVENT_BYTES) for message, kind in chunk
        ]
        normalized = time.perf_counter()
        with write_transaction(self.engine) as conn:
            dialect_of(conn).insert_events(conn, rows)
        self.normalize_seconds += normalized - started
        self.insert_seconds += time.perf_counter() - normalized
        return len(rows)


def prepare(engine: Engine) -> Shop:
    upgrade(engine)
    with write_transaction(engine) as conn:
        workspace_id = ensure_workspace(conn, "identity-bench")
        sources = {
            kind: create_source(conn, workspace_id, f"bench {kind}", kind).id
            for kind in ("web", "app", "kiosk")
        }
    return Shop(workspace_id, sources)
