"""PostgreSQL specifics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql import Insert


def configure(engine: Engine) -> None:
    """Nothing to set yet; kept so dialect set-up has one home."""


def insert_ignoring_duplicates(table: Any, index_elements: list[str]) -> Insert:
    return pg_insert(table).on_conflict_do_nothing(index_elements=index_elements)


_INSERT_EVENTS = (
    "INSERT INTO events (workspace_id, source_id, message_id, type, event, user_id,"
    " anonymous_id, timestamp, received_at, payload)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)"
    " ON CONFLICT (source_id, message_id) DO NOTHING"
)


def insert_events(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    # psycopg's executemany pipelines the statements; the payload is already JSON text.
    conn.exec_driver_sql(
        _INSERT_EVENTS,
        [
            (r["workspace_id"], r["source_id"], r["message_id"], r["type"], r["event"],
             r["user_id"], r["anonymous_id"], r["timestamp"], r["received_at"], r["payload"])
            for r in rows
        ],
    )  # fmt: skip
