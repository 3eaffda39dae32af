"""The services a process needs (settings, engine), built explicitly for API, worker and CLI."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine

from nerve.db import migrate
from nerve.db.engine import make_engine
from nerve.settings import Settings, get_settings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine


@contextmanager
def open_runtime(
    settings: Settings | None = None, *, migrate_schema: bool | None = None
) -> Iterator[Runtime]:
    settings = settings or get_settings()
    engine = make_engine(settings)
    try:
        if settings.auto_migrate if migrate_schema is None else migrate_schema:
            migrate.upgrade(engine)
        yield Runtime(settings=settings, engine=engine)
    finally:
        engine.dispose()
