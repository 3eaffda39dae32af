"""FastAPI dependencies: one database transaction per request, committed on success."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection

from nerve.services import Services


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _connection(request: Request) -> Iterator[Connection]:
    with _services(request).read() as conn:
        yield conn


Db = Annotated[Connection, Depends(_connection)]


def _write_connection(request: Request) -> Iterator[Connection]:
    with _services(request).write() as conn:
        yield conn


WriteDb = Annotated[Connection, Depends(_write_connection)]
