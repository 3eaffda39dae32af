"""SQLite specifics: WAL, durability level, busy timeout, explicit BEGIN handling, and the
SQLite implementation of the storage interface (see nerve/db/dialect.py)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Select, event
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql import Insert


def configure(engine: Engine, *, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={int(_BUSY_SECONDS * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode == "IMMEDIATE":
            _begin_immediate(conn.connection.dbapi_connection)
        else:
            conn.exec_driver_sql(f"BEGIN {mode}")


_BUSY_SECONDS = 30.0
_RETRY_SECONDS = 0.001


def _begin_immediate(dbapi_conn: Any) -> None:
    """Take the write lock, asking again every millisecond until it is free.

    SQLite's own busy handler sleeps longer the longer it waits (up to 100 ms a try): with two
    processes writing — `nerve serve` storing events, its worker child resolving them in 0.1 s
    transactions one after the other — a writer that dozes through the short gaps between the
    other's transactions would wait for ever and stall ingest. Asking every millisecond catches
    those gaps, and both writers get their turn.
    """
    started = time.monotonic()
    dbapi_conn.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                dbapi_conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                waited = time.monotonic() - started
                if "locked" not in str(exc) or waited > _BUSY_SECONDS:
                    raise
            # After half a second, ask less often: many waiting threads must not burn a core.
            time.sleep(_RETRY_SECONDS if waited < 0.5 else _RETRY_SECONDS * 5)
    finally:
        dbapi_conn.execute(f"PRAGMA busy_timeout={int(_BUSY_SECONDS * 1000)}")


def _utc(stored: str) -> datetime:
    return datetime.fromisoformat(stored).replace(tzinfo=UTC)


def datetime_text(value: datetime) -> str:
    """The text SQLAlchemy's DateTime stores on SQLite (naive UTC, always microseconds)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


_INSERT_EVENTS = (
    "INSERT INTO events (workspace_id, source_id, message_id, type, event, user_id,"
    " anonymous_id, timestamp, received_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (source_id, message_id) DO NOTHING"
)
# The database clock, in the text format SQLAlchemy stores (microseconds, naive UTC).
_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'"


class SQLite:
    """One writer at a time (write transactions begin IMMEDIATE): claiming and locking are
    implied by holding the write lock, so those methods do no more than read."""

    name = "sqlite"
    poll_seconds = 0.05
    concurrent_writers = False

    def insert_ignoring_duplicates(self, table: Any, index_elements: list[str]) -> Insert:
        return sqlite_insert(table).on_conflict_do_nothing(index_elements=index_elements)

    def upsert(
        self, table: Any, index_elements: list[str], update: list[str],
        also: dict[str, Any] | None = None,
    ) -> Insert:  # fmt: skip
        statement = sqlite_insert(table)
        changes = {c: statement.excluded[c] for c in update} | (also or {})
        return statement.on_conflict_do_update(index_elements=index_elements, set_=changes)

    def insert_events(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        # Straight to sqlite3's executemany: SQLAlchemy's per-row parameter processing was a
        # measurable share of ingest time.
        conn.exec_driver_sql(
            _INSERT_EVENTS,
            [
                (r["workspace_id"], r["source_id"], r["message_id"], r["type"], r["event"],
                 r["user_id"], r["anonymous_id"], datetime_text(r["timestamp"]),
                 datetime_text(r["received_at"]), r["payload"])
                for r in rows
            ],
        )  # fmt: skip

    def now(self, conn: Connection) -> datetime:
        value = conn.exec_driver_sql(f"SELECT {_NOW}").scalar_one()
        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    def for_update(self, query: Select[Any]) -> Select[Any]:
        return query

    def skip_locked(self, query: Select[Any]) -> Select[Any]:
        return query

    def lock(self, conn: Connection, key: int, *, wait: bool = True) -> bool:
        return True

    def lock_all(self, conn: Connection, keys: Iterable[int]) -> None:
        return None

    def claim_unresolved_events(
        self, conn: Connection, limit: int
    ) -> list[tuple[int, str, str, datetime, datetime, dict[str, Any]]]:
        # INDEXED BY: the planner otherwise takes the timeline index (profile_id IS NULL
        # matches it) and sorts the whole backlog for every batch. SQLAlchemy renders no
        # SQLite hints. Decoded here, not by SQLAlchemy's type processors: they were a fifth
        # of the resolver's time.
        rows = conn.exec_driver_sql(
            "SELECT id, workspace_id, source_id, timestamp, received_at, payload FROM events"
            " INDEXED BY ix_events_unresolved WHERE profile_id IS NULL ORDER BY id LIMIT ?",
            (limit,),
        ).all()
        return [
            (row[0], row[1], row[2], _utc(row[3]), _utc(row[4]), orjson.loads(row[5]))
            for row in rows
        ]

    def attach_events(self, conn: Connection, profile_of: list[tuple[str, int]]) -> None:
        # Straight to the driver's executemany: SQLAlchemy's parameter processing per row
        # was a measurable share of resolution.
        conn.exec_driver_sql("UPDATE events SET profile_id = ? WHERE id = ?", profile_of)

    def claim_tasks(
        self, conn: Connection, owner: str, limit: int, lease_seconds: int
    ) -> list[int]:
        # Runs inside BEGIN IMMEDIATE: SQLite's single writer makes the claim exclusive.
        rows = conn.exec_driver_sql(
            "UPDATE tasks SET status = 'running', owner = ?, attempts = attempts + 1,"
            f" lease_until = strftime('%Y-%m-%d %H:%M:%f', 'now', '+{int(lease_seconds)} seconds')"
            " || '000' WHERE id IN (SELECT id FROM tasks INDEXED BY ix_tasks_due"
            f" WHERE status = 'pending' AND due_at <= {_NOW} ORDER BY due_at LIMIT ?) RETURNING id",
            (owner, limit),
        ).all()
        return [row[0] for row in rows]

    def rescue_tasks(self, conn: Connection) -> int:
        result = conn.exec_driver_sql(
            "UPDATE tasks SET status = 'pending', owner = NULL"
            f" WHERE status = 'running' AND lease_until < {_NOW}"
        )
        return int(result.rowcount)

    def announce_tasks(self, conn: Connection) -> None:
        return None  # one process does all the work and wakes its own worker

    def task_listener(self, engine: Engine, on_notify: Callable[[], None]) -> None:
        return None

    def maintenance_warnings(self, engine: Engine) -> list[str]:
        return []


DIALECT = SQLite()
