"""What identity resolution hands on: a typed batch of attached events and what changed.

Identity resolves and stops there. Everything that must see each attached event (profiles,
orders, flows — later segments, carts, consent) is a `Consumer` of `AttachedBatch`, registered
in `nerve/pipeline.py` in the order they run, inside the resolver's transaction: an event, the
traits it sets and the runs it starts commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from nerve.db.dialect import Dialect
from nerve.identity.rules import MergeRules


@dataclass(frozen=True)
class AttachedEvent:
    id: int
    source_id: str
    timestamp: datetime
    received_at: datetime
    payload: dict[str, Any]
    profile_id: str  # the (leaf) profile the event is attached to
    person_id: str  # the person — the root of the leaf's merge tree — after this batch


@dataclass(frozen=True)
class Merged:
    survivor_id: str
    merged_id: str


@dataclass(frozen=True)
class Relinked:
    """A shared device's identifier moved from one person to the one who signed in on it."""

    identifier_type: str
    from_person: str
    to_person: str


@dataclass
class AttachedBatch:
    """Events of one workspace attached in one transaction, in the order they were resolved."""

    workspace_id: str
    rules: MergeRules
    dialect: Dialect
    events: list[AttachedEvent]
    # Every profile id of each person the batch touched (runs and entries made under a
    # profile that has since merged still belong to the person).
    people: dict[str, frozenset[str]]
    merged: list[Merged] = field(default_factory=list)
    relinked: list[Relinked] = field(default_factory=list)
    # Filled by the profiles consumer for the ones after it: trait names that changed, per
    # person.
    traits_changed: dict[str, set[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Consumer:
    name: str
    consume: Callable[[Connection, AttachedBatch], None]
