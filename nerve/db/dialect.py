"""One storage interface, two implementations: the SQL that differs between SQLite and
PostgreSQL lives behind a `Dialect` object (DBOS keeps `_sys_db_sqlite.py` beside
`_sys_db_postgres.py` the same way).

The runtime chooses the dialect once (`Services.dialect`) and hands it to the workers, the event
writer and the pipeline; code that only holds a connection asks `dialect_of(conn)`, which returns
the same object. Nothing outside `nerve/db/` branches on the database's name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Select
from sqlalchemy.sql import Insert

from nerve.db import postgres, sqlite

UnresolvedRow = tuple[int, str, str, datetime, datetime, dict[str, Any]]


class TaskListener(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


class Dialect(Protocol):
    name: str
    # How often an idle flow worker looks for timers that became due (seconds).
    poll_seconds: float
    # Whether several processes may write at once (PostgreSQL), so work must be claimed
    # and locked; SQLite has one writer at a time.
    concurrent_writers: bool

    def insert_ignoring_duplicates(self, table: Any, index_elements: list[str]) -> Insert:
        """INSERT ... ON CONFLICT (index_elements) DO NOTHING."""

    def upsert(
        self, table: Any, index_elements: list[str], update: list[str],
        also: dict[str, Any] | None = None,
    ) -> Insert:  # fmt: skip
        """INSERT ... ON CONFLICT (index_elements) DO UPDATE SET each column of `update` to the
        value this row tried to insert, and the columns of `also` to those expressions."""

    def insert_events(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Store tracking rows (see nerve/tracking/normalize.py), skipping duplicate messageIds."""

    def now(self, conn: Connection) -> datetime:
        """The database's clock: every due-time decision uses it, never a worker's own clock."""

    def for_update(self, query: Select[Any]) -> Select[Any]:
        """Lock the selected rows for this transaction (PostgreSQL); SQLite's single writer
        needs nothing."""

    def skip_locked(self, query: Select[Any]) -> Select[Any]:
        """Lock the selected rows for this transaction, leaving out those another holds
        (PostgreSQL: a queue many workers share); SQLite's single writer needs nothing."""

    def lock(self, conn: Connection, key: int, *, wait: bool = True) -> bool:
        """Take lock `key` until the transaction ends; False if `wait` is off and it is taken."""

    def lock_all(self, conn: Connection, keys: Iterable[int]) -> None:
        """Take every lock in `keys` until the transaction ends, in ascending order (so two
        transactions locking overlapping sets never deadlock on them)."""

    def claim_unresolved_events(self, conn: Connection, limit: int) -> list[UnresolvedRow]:
        """The identity resolver's queue: the oldest events not yet attached to a profile that
        no other resolver holds, locked for this transaction, decoded: (id, workspace_id,
        source_id, timestamp, received_at, payload)."""

    def attach_events(self, conn: Connection, profile_of: list[tuple[str, int]]) -> None:
        """Set each event's profile: (profile id, event id) pairs; they leave the queue."""

    def claim_tasks(
        self, conn: Connection, owner: str, limit: int, lease_seconds: int
    ) -> list[int]:
        """Mark up to `limit` due tasks as running for `owner` with a lease; returns their ids."""

    def rescue_tasks(self, conn: Connection) -> int:
        """Tasks whose worker died (lease expired) become claimable again."""

    def announce_tasks(self, conn: Connection) -> None:
        """Tell listening workers that tasks are due now (sent when the transaction commits)."""

    def task_listener(self, engine: Engine, on_notify: Callable[[], None]) -> TaskListener | None:
        """A listener for `announce_tasks`; None where one process does all the work."""

    def maintenance_warnings(self, engine: Engine) -> list[str]:
        """Server settings that will hurt (PostgreSQL without autovacuum); logged by workers."""


def dialect_of(bind: Connection | Engine) -> Dialect:
    """The dialect object of this engine's database."""
    return postgres.DIALECT if bind.dialect.name == "postgresql" else sqlite.DIALECT
