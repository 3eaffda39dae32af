"""PostgreSQL specifics."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql import Insert


def configure(engine: Engine) -> None:
    """Nothing to set yet; kept so dialect set-up has one home."""


def insert_ignoring_duplicates(table: Any, index_elements: list[str]) -> Insert:
    return pg_insert(table).on_conflict_do_nothing(index_elements=index_elements)
