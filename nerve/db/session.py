"""FastAPI dependency: one database connection per request, committed on success."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine

from nerve.db.engine import write_transaction


def _connection(request: Request) -> Iterator[Connection]:
    engine: Engine = request.app.state.engine
    with engine.connect() as conn, conn.begin():
        yield conn


Db = Annotated[Connection, Depends(_connection)]


def _write_connection(request: Request) -> Iterator[Connection]:
    engine: Engine = request.app.state.engine
    with write_transaction(engine) as conn:
        yield conn


WriteDb = Annotated[Connection, Depends(_write_connection)]
