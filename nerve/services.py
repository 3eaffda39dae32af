"""The one service provider: what a process needs (settings, engine, transactions), built
explicitly and shared by the API, the CLI and the workers (litestar's `provide_services`).

Nothing here is built at import time; `provide_services` opens it, and closing disposes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Connection, Engine

from nerve.db import migrate
from nerve.db.dialect import Dialect, dialect_of
from nerve.db.engine import make_engine, write_transaction
from nerve.identity.attached import Consumer
from nerve.secrets.vault import Vault
from nerve.settings import Settings, get_settings


@dataclass
class Services:
    settings: Settings
    engine: Engine
    dialect: Dialect
    # Encrypts and decrypts stored secrets (nerve/secrets/vault.py).
    vault: Vault

    @cached_property
    def consumers(self) -> tuple[Consumer, ...]:
        """The attached-event pipeline's consumers, in order (nerve/pipeline.py); imported
        when a worker asks, so a CLI command that only writes a key does not load them all."""
        from nerve.pipeline import CONSUMERS

        return CONSUMERS

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that will write (on SQLite it takes the write lock up front)."""
        with write_transaction(self.engine) as conn:
            yield conn


@contextmanager
def provide_services(
    settings: Settings | None = None, *, migrate_schema: bool | None = None
) -> Iterator[Services]:
    """Open the services of one process; migrations run first when configured to."""
    settings = settings or get_settings()
    engine = make_engine(settings)
    try:
        if settings.auto_migrate if migrate_schema is None else migrate_schema:
            migrate.upgrade(engine)
        vault = Vault(settings.secret_key.get_secret_value())
        yield Services(settings=settings, engine=engine, dialect=dialect_of(engine), vault=vault)
    finally:
        engine.dispose()
