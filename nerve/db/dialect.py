"""Statements whose SQL differs between SQLite and PostgreSQL, chosen by engine dialect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection
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
