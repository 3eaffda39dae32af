"""uvicorn's options for `nerve serve` and `nerve demo`: Nerve's HTTP protocol with its limits
taken from the settings, and an open-files limit that leaves them room."""

from __future__ import annotations

import asyncio
import functools
import resource
from typing import Any, cast

import structlog

from nerve.server.protocol import ConnectionLimits, LimitedHttpToolsProtocol
from nerve.settings import Settings

log = structlog.get_logger(__name__)

# File descriptors a server process needs besides its connections: the listening socket, the
# event loop's, logs, the odd file ... and per database connection (twice the pool, for its
# bursts) up to three: SQLite keeps the database, its WAL and its shared-memory index open.
_RESERVED_DESCRIPTORS = 64
_DESCRIPTORS_PER_DATABASE_CONNECTION = 3


def server_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` / `uvicorn.Config` (with `loop="uvloop"`)."""
    reserved = _reserved_descriptors(settings)
    # Room for as many connections again as are served: those beyond `max_connections` are
    # answered 503, which takes reading their head first.
    descriptors = _open_files_limit(raise_to=2 * settings.max_connections + reserved)
    protocol = functools.partial(
        LimitedHttpToolsProtocol, limits=connection_limits(settings, descriptors - reserved)
    )
    return {
        # uvicorn calls it as it would the class (and pickles it for --workers: a partial of a
        # module-level class pickles).
        "http": cast(type[asyncio.Protocol], protocol),
        "timeout_keep_alive": settings.keep_alive_timeout_seconds,
    }


def connection_limits(settings: Settings, room: int) -> ConnectionLimits:
    """The limits for a process with `room` descriptors to spare for connections."""
    max_connections = settings.max_connections
    if max_connections > room:
        log.warning(
            "max_connections_lowered",
            configured=max_connections,
            lowered_to=room,
            reason="the process may not open enough files; raise its hard limit (ulimit -Hn)",
        )
        max_connections = room
    return ConnectionLimits(
        header_timeout=settings.header_timeout_seconds,
        body_timeout=settings.body_timeout_seconds,
        max_header_bytes=settings.max_header_bytes,
        max_connections=max_connections,
        max_open=room,
    )


def _reserved_descriptors(settings: Settings) -> int:
    database_connections = 2 * settings.database_pool_size
    return _RESERVED_DESCRIPTORS + _DESCRIPTORS_PER_DATABASE_CONNECTION * database_connections


def _open_files_limit(raise_to: int) -> int:
    """The process's soft limit on open files, first raised toward `raise_to` (at most to the
    hard limit) when it is lower. systemd and many shells start processes with a soft limit of
    1024 and a far higher hard one, for old select() users; a program that needs more is meant
    to raise its own soft limit (Go's runtime does it at every start)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= raise_to:
        return raise_to if soft == resource.RLIM_INFINITY else soft
    target = raise_to if hard == resource.RLIM_INFINITY else min(raise_to, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        return soft
    return target
