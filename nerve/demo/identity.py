"""What Nerve's identity graph makes of the simulated customers, in a few counts for the demo's
screen: read straight from the demo database, at most once a second, with small indexed queries
that never wait for the server's writers (SQLite in WAL mode lets readers run alongside).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from nerve.events import service as events
from nerve.identity import service as identity

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class IdentityFigures:
    people: int  # persons: merge trees of profiles
    identified: int  # people with an e-mail, user id or phone number
    merged: int  # profiles merged into another one (and not unmerged since)
    relinked: int  # anonymous ids moved to another person (a shared device changed hands)
    refused: int  # merges the rules refused
    unresolved: int  # events not attached to a profile yet


class IdentityCounts:
    """Counts for one workspace, re-read when the last reading is a second old."""

    def __init__(self, engine: Engine, workspace_id: str, every: float = 1.0) -> None:
        self._engine = engine
        self._workspace_id = workspace_id
        self._every = every
        self._read_at = float("-inf")
        self._figures: IdentityFigures | None = None

    def figures(self, *, fresh: bool = False) -> IdentityFigures | None:
        """The latest figures, `fresh` ones or at most a second old; None if never readable."""
        if fresh or time.monotonic() - self._read_at >= self._every:
            self._read_at = time.monotonic()
            try:
                self._figures = self._read()
            except SQLAlchemyError:  # the screen keeps the last figures; the demo goes on
                log.warning("demo_identity_figures_unreadable", exc_info=True)
        return self._figures

    def _read(self) -> IdentityFigures:
        with self._engine.connect() as conn:
            counts = identity.census(conn, self._workspace_id)
            # Every workspace's: the demo database holds only the demo's workspace anyway.
            unresolved = events.unresolved_count(conn)
        return IdentityFigures(
            people=counts["people"],
            identified=counts["identified"],
            merged=counts.get("merged", 0),
            relinked=counts.get("relinked", 0),
            refused=counts.get("rejected", 0),
            unresolved=unresolved,
        )
