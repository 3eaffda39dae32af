"""Storage reference: how fast a plain `executemany` stores the benchmark's events.

No HTTP, no event loop, no group committer: the same rows the server would store (built by
nerve's own `normalize`, outside the timed part), inserted with the server's statement
(`INSERT ... ON CONFLICT (source_id, message_id) DO NOTHING`) into a fresh `events` table with
the same indexes and unique constraint, one transaction per `events_per_commit` events. Only
`executemany` + `COMMIT` is timed, so the figure is the database's ceiling for this payload.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable
from tracking_payloads import fill

from nerve.events.models import Event
from nerve.tracking.normalize import Envelope, normalize

_COLUMNS = (
    "workspace_id",
    "source_id",
    "message_id",
    "type",
    "event",
    "user_id",
    "anonymous_id",
    "timestamp",
    "received_at",
    "payload",
)
_MAX_EVENT_BYTES = 32 * 1024


@dataclass(frozen=True)
class ReferenceResult:
    database: str  # "sqlite" or "postgresql"
    durability: str  # SQLite synchronous=..., PostgreSQL synchronous_commit=...
    events_per_commit: int
    events: int
    seconds: float  # inside executemany + COMMIT only

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds


def _ddl(dialect: Dialect) -> list[str]:
    table = Event.__table__
    assert isinstance(table, Table)
    statements = [str(CreateTable(table).compile(dialect=dialect))]
    statements += [str(CreateIndex(index).compile(dialect=dialect)) for index in table.indexes]
    return statements


def _rows(template: str, prefix: str, events: int) -> Iterator[dict[str, Any]]:
    """Rows exactly as the server builds them from the batch bodies wrk sends."""
    for number in itertools.count():
        body = orjson.loads(fill(template, f"{prefix}-{number}"))
        envelope = Envelope("ws_bench", "src_bench", datetime.now(UTC), body["sentAt"])
        for message in body["batch"]:
            if events == 0:
                return
            events -= 1
            yield normalize(message, None, envelope, _MAX_EVENT_BYTES)


def _sqlite_time(moment: datetime) -> str:
    # SQLAlchemy's SQLite DATETIME text, as the server's UtcDateTime column stores it.
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def measure_sqlite(
    directory: Path, template: str, events_per_commit: int, synchronous: str, seconds: float
) -> ReferenceResult:
    path = directory / f"reference-{synchronous.lower()}-{events_per_commit}.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        for statement in _ddl(sqlite.dialect()):
            conn.execute(statement)
        insert = (
            f"INSERT INTO events ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
            " ON CONFLICT (source_id, message_id) DO NOTHING"
        )

        def commit(rows: list[tuple[Any, ...]]) -> None:
            conn.execute("BEGIN IMMEDIATE")  # as the server's write_transaction
            conn.executemany(insert, rows)
            conn.execute("COMMIT")

        def as_tuple(row: dict[str, Any]) -> tuple[Any, ...]:
            row = {**row, "timestamp": _sqlite_time(row["timestamp"])}
            row["received_at"] = _sqlite_time(row["received_at"])
            return tuple(row[column] for column in _COLUMNS)

        events, elapsed = _timed_commits(template, events_per_commit, seconds, as_tuple, commit)
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return ReferenceResult(
        "sqlite", f"synchronous={synchronous}", events_per_commit, events, elapsed
    )


def measure_postgresql(
    url: str, template: str, events_per_commit: int, seconds: float
) -> ReferenceResult:
    """Into a `reference` schema of the benchmark's throw-away database (dropped with it)."""
    schema = f"reference_{events_per_commit}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"SET search_path TO {schema}")
        for statement in _ddl(postgresql.dialect()):  # type: ignore[no-untyped-call]
            conn.execute(statement)
        setting = conn.execute("SHOW synchronous_commit").fetchone()
        durability = f"synchronous_commit={setting[0] if setting else '?'}"
        placeholders = ", ".join("%s::jsonb" if c == "payload" else "%s" for c in _COLUMNS)
        insert = (
            f"INSERT INTO events ({', '.join(_COLUMNS)}) VALUES ({placeholders})"
            " ON CONFLICT (source_id, message_id) DO NOTHING"
        )

        def commit(rows: list[tuple[Any, ...]]) -> None:
            with conn.transaction(), conn.cursor() as cursor:
                cursor.executemany(insert, rows)

        def as_tuple(row: dict[str, Any]) -> tuple[Any, ...]:
            return tuple(row[column] for column in _COLUMNS)

        try:
            events, elapsed = _timed_commits(template, events_per_commit, seconds, as_tuple, commit)
        finally:
            with contextlib.suppress(psycopg.Error):
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
    return ReferenceResult("postgresql", durability, events_per_commit, events, elapsed)


def _timed_commits(
    template: str,
    events_per_commit: int,
    seconds: float,
    as_tuple: Callable[[dict[str, Any]], tuple[Any, ...]],
    commit: Callable[[list[tuple[Any, ...]]], None],
) -> tuple[int, float]:
    """Commit transactions until `seconds` were spent inside them (at least three)."""
    elapsed, events = 0.0, 0
    for number in itertools.count():
        if elapsed >= seconds and number >= 3:
            break
        rows = [as_tuple(r) for r in _rows(template, f"ref-{number}", events_per_commit)]
        started = time.perf_counter()
        commit(rows)
        elapsed += time.perf_counter() - started
        events += len(rows)
    return events, elapsed
