"""Engine factory; the dialect-specific connection set-up lives in `sqlite.py`/`postgres.py`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, create_engine

from nerve import numbers
from nerve.db import postgres, sqlite
from nerve.settings import Settings


def _json_serializer(value: object) -> str:
    return numbers.dumps(value).decode()


def make_engine(settings: Settings) -> Engine:
    url = settings.database_url
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            json_serializer=_json_serializer,
            json_deserializer=numbers.loads,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_pool_size,
        )
        sqlite.configure(engine, synchronous=settings.sqlite_synchronous)
        return engine
    engine = create_engine(
        url,
        json_serializer=_json_serializer,
        json_deserializer=numbers.loads,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_pool_size,
        pool_pre_ping=True,
    )
    postgres.configure(engine)
    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: on SQLite it takes the write lock up front.

    A deferred SQLite transaction that reads and then writes can fail with SQLITE_BUSY
    without waiting (the lock upgrade would deadlock), so writers say so when they begin.
    """
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            yield conn
