"""PostgreSQL specifics: the NOTIFY-on-commit hook, the task listener, and the PostgreSQL
implementation of the storage interface (see nerve/db/dialect.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import psycopg
import structlog
from sqlalchemy import Connection, Engine, Select, event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql import Insert

log = structlog.get_logger(__name__)


def configure(engine: Engine) -> None:
    @event.listens_for(engine, "commit")
    def _announce_on_commit(conn: Any) -> None:
        # One NOTIFY per transaction that enqueued due-now work, sent just before it commits
        # (PostgreSQL delivers it with the commit): one round trip, not one per task.
        if conn.info.pop(_ANNOUNCE, False):
            conn.connection.driver_connection.execute(f"NOTIFY {TASKS_CHANNEL}")

    @event.listens_for(engine, "rollback")
    def _forget_on_rollback(conn: Any) -> None:
        conn.info.pop(_ANNOUNCE, None)


_INSERT_EVENTS = (
    "INSERT INTO events (workspace_id, source_id, message_id, type, event, user_id,"
    " anonymous_id, timestamp, received_at, payload)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)"
    " ON CONFLICT (source_id, message_id) DO NOTHING"
)
TASKS_CHANNEL = "nerve_flow_tasks"
_ANNOUNCE = "nerve_announce_tasks"


class PostgreSQL:
    """Many processes write at once: work is claimed with SKIP LOCKED, rows are locked FOR
    UPDATE, and what must be decided by one process at a time takes advisory locks."""

    name = "postgresql"
    # New due-now work wakes every worker through LISTEN/NOTIFY; polling only finds timers.
    poll_seconds = 0.5
    concurrent_writers = True

    def insert_ignoring_duplicates(self, table: Any, index_elements: list[str]) -> Insert:
        return pg_insert(table).on_conflict_do_nothing(index_elements=index_elements)

    def upsert(
        self, table: Any, index_elements: list[str], update: list[str],
        also: dict[str, Any] | None = None,
    ) -> Insert:  # fmt: skip
        statement = pg_insert(table)
        changes = {c: statement.excluded[c] for c in update} | (also or {})
        return statement.on_conflict_do_update(index_elements=index_elements, set_=changes)

    def insert_events(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        # psycopg's executemany pipelines the statements; the payload is already JSON text.
        conn.exec_driver_sql(
            _INSERT_EVENTS,
            [
                (r["workspace_id"], r["source_id"], r["message_id"], r["type"], r["event"],
                 r["user_id"], r["anonymous_id"], r["timestamp"], r["received_at"], r["payload"])
                for r in rows
            ],
        )  # fmt: skip

    def now(self, conn: Connection) -> datetime:
        value = conn.exec_driver_sql("SELECT clock_timestamp()").scalar_one()
        assert isinstance(value, datetime)
        return value

    def for_update(self, query: Select[Any]) -> Select[Any]:
        return query.with_for_update()

    def skip_locked(self, query: Select[Any]) -> Select[Any]:
        return query.with_for_update(skip_locked=True)

    def lock(self, conn: Connection, key: int, *, wait: bool = True) -> bool:
        if wait:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
            return True
        return bool(conn.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}))

    def lock_all(self, conn: Connection, keys: Iterable[int]) -> None:
        ordered = sorted(set(keys))
        if ordered:
            # unnest yields the array in order, so the locks are taken in ascending order.
            conn.exec_driver_sql(
                "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k", (ordered,)
            )

    def claim_unresolved_events(
        self, conn: Connection, limit: int
    ) -> list[tuple[int, str, str, datetime, datetime, dict[str, Any]]]:
        # SKIP LOCKED: resolvers in many processes each take different events; the partial
        # index ix_events_unresolved serves the scan. psycopg decodes the JSONB (with orjson,
        # see make_engine) and the timestamps itself.
        rows = conn.exec_driver_sql(
            "SELECT id, workspace_id, source_id, timestamp, received_at, payload FROM events"
            " WHERE profile_id IS NULL ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
            (limit,),
        ).all()
        return [tuple(row) for row in rows]

    def attach_events(self, conn: Connection, profile_of: list[tuple[str, int]]) -> None:
        # Straight to the driver's executemany: SQLAlchemy's parameter processing per row
        # was a measurable share of resolution.
        conn.exec_driver_sql("UPDATE events SET profile_id = %s WHERE id = %s", profile_of)

    def claim_tasks(
        self, conn: Connection, owner: str, limit: int, lease_seconds: int
    ) -> list[int]:
        # SKIP LOCKED: many workers on many machines each take different due tasks, none waits.
        rows = conn.exec_driver_sql(
            "UPDATE tasks SET status = 'running', owner = %s, attempts = attempts + 1,"
            " lease_until = clock_timestamp() + make_interval(secs => %s)"
            " WHERE id IN (SELECT id FROM tasks WHERE status = 'pending'"
            " AND due_at <= clock_timestamp() ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED)"
            " RETURNING id",
            (owner, lease_seconds, limit),
        ).all()
        return [row[0] for row in rows]

    def rescue_tasks(self, conn: Connection) -> int:
        result = conn.exec_driver_sql(
            "UPDATE tasks SET status = 'pending', owner = NULL"
            " WHERE status = 'running' AND lease_until < clock_timestamp()"
        )
        return int(result.rowcount)

    def announce_tasks(self, conn: Connection) -> None:
        conn.info[_ANNOUNCE] = True  # sent once when the transaction commits (see configure)

    def task_listener(self, engine: Engine, on_notify: Callable[[], None]) -> TaskListener:
        return TaskListener(engine, on_notify)

    def maintenance_warnings(self, engine: Engine) -> list[str]:
        with engine.connect() as conn:
            if conn.exec_driver_sql("SHOW autovacuum").scalar() == "off":
                return [
                    "autovacuum is off: the task queue's indexes fill with dead entries and the"
                    " planner works from stale statistics; flow steps slow down by an order of"
                    " magnitude at a million timers. Turn it on, or VACUUM ANALYZE tasks,"
                    " flow_runs regularly."
                ]
        return []


class TaskListener:
    """LISTENs for new due-now tasks on its own connection and calls `on_notify` (from its
    thread): a worker on another machine starts an action at once instead of at its next poll."""

    def __init__(self, engine: Engine, on_notify: Callable[[], None]) -> None:
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self._on_notify = on_notify
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="nerve-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _listen(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {TASKS_CHANNEL}")
                    while not self._stopping.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            self._on_notify()
            except psycopg.Error:
                log.warning("task_listener_reconnecting", exc_info=True)
                self._stopping.wait(1.0)  # the database restarts: polling covers meanwhile


DIALECT = PostgreSQL()
