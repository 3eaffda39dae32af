"""FastAPI dependencies: one database transaction per request, committed on success."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Annotated, Protocol

from fastapi import Depends, Request
from sqlalchemy import Connection


class Transactions(Protocol):
    """What a request needs of the process's services (nerve/services.py)."""

    def read(self) -> AbstractContextManager[Connection]: ...
    def write(self) -> AbstractContextManager[Connection]: ...


def _services(request: Request) -> Transactions:
    services: Transactions = request.app.state.services
    return services


def _connection(request: Request) -> Iterator[Connection]:
    with _services(request).read() as conn:
        yield conn


Db = Annotated[Connection, Depends(_connection)]


def _write_connection(request: Request) -> Iterator[Connection]:
    with _services(request).write() as conn:
        yield conn


WriteDb = Annotated[Connection, Depends(_write_connection)]
