"""What Nerve's identity graph makes of the simulated customers, in a few counts for the demo's
screen: read straight from the demo database, at most once a second, with small indexed queries
that never wait for the server's writers (SQLite in WAL mode lets readers run alongside).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog
from sqlalchemy import Engine, distinct, func, select
from sqlalchemy.exc import SQLAlchemyError

from nerve.events.models import Event
from nerve.identity.models import Identifier, Merge, Profile

log = structlog.get_logger(__name__)

# Identifiers that name a person rather than a device.
_PERSONAL = ("email", "user_id", "phone")


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
        workspace = self._workspace_id
        with self._engine.connect() as conn:
            people = conn.scalar(
                select(func.count())
                .select_from(Profile)
                .where(Profile.workspace_id == workspace, Profile.id == Profile.cluster_id)
            )
            identified = conn.scalar(
                select(func.count(distinct(Profile.cluster_id)))
                .select_from(Identifier)
                .join(Profile, Profile.id == Identifier.profile_id)
                .where(Identifier.workspace_id == workspace, Identifier.type.in_(_PERSONAL))
            )
            kinds = {
                kind: count
                for kind, count in conn.execute(
                    select(Merge.kind, func.count())
                    .where(Merge.workspace_id == workspace, Merge.undone_at.is_(None))
                    .group_by(Merge.kind)
                )
            }
            # Not filtered by workspace: this way SQLite counts on the index of unresolved
            # events, and the demo database holds only the demo's workspace anyway.
            unresolved = conn.scalar(
                select(func.count()).select_from(Event).where(Event.profile_id.is_(None))
            )
        return IdentityFigures(
            people=people or 0,
            identified=identified or 0,
            merged=kinds.get("merged", 0),
            relinked=kinds.get("relinked", 0),
            refused=kinds.get("rejected", 0),
            unresolved=unresolved or 0,
        )
