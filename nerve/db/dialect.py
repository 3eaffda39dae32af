"""Statements whose SQL differs between SQLite and PostgreSQL, chosen by engine dialect."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Insert

from nerve.db import postgres, sqlite


def insert_ignoring_duplicates(dialect: Dialect, table: Any, index_elements: list[str]) -> Insert:
    """INSERT ... ON CONFLICT (index_elements) DO NOTHING."""
    if dialect.name == "postgresql":
        return postgres.insert_ignoring_duplicates(table, index_elements)
    return sqlite.insert_ignoring_duplicates(table, index_elements)


def insert_events(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Store tracking rows (see nerve/tracking/normalize.py), skipping duplicate messageIds."""
    if conn.dialect.name == "postgresql":
        postgres.insert_events(conn, rows)
    else:
        sqlite.insert_events(conn, rows)


def database_now(conn: Connection) -> datetime:
    """The database's clock: every due-time decision uses it, never the worker's own clock."""
    if conn.dialect.name == "postgresql":
        return postgres.database_now(conn)
    return sqlite.database_now(conn)


def claim_tasks(conn: Connection, owner: str, limit: int, lease_seconds: int) -> list[int]:
    """Mark up to `limit` due tasks as running for `owner` with a lease; returns their ids."""
    if conn.dialect.name == "postgresql":
        return postgres.claim_tasks(conn, owner, limit, lease_seconds)
    return sqlite.claim_tasks(conn, owner, limit, lease_seconds)


def rescue_tasks(conn: Connection) -> int:
    if conn.dialect.name == "postgresql":
        return postgres.rescue_tasks(conn)
    return sqlite.rescue_tasks(conn)


def unresolved_events(conn: Connection, columns: Sequence[Any], limit: int) -> list[Any]:
    """The identity resolver's queue: the oldest events not yet attached to a profile."""
    if conn.dialect.name == "postgresql":
        return postgres.unresolved_events(conn, columns, limit)
    return sqlite.unresolved_events(conn, columns, limit)


def announce_tasks(conn: Connection) -> None:
    """Tell listening workers that tasks are due now (PostgreSQL NOTIFY, on commit)."""
    if conn.dialect.name == "postgresql":
        postgres.announce_tasks(conn)


def task_listener(engine: Engine, on_notify: Callable[[], None]) -> postgres.TaskListener | None:
    """A listener for `announce_tasks` (PostgreSQL); None on SQLite, where one process does
    all the work and wakes its worker itself."""
    if engine.dialect.name == "postgresql":
        return postgres.TaskListener(engine, on_notify)
    return None


def maintenance_warnings(engine: Engine) -> list[str]:
    """Server settings that will hurt (PostgreSQL without autovacuum); logged by workers."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as conn:
        return postgres.maintenance_warnings(conn)
