"""Trait survivorship: per trait, the value with the latest event time wins (or the first)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, insert, select, update

from nerve import numbers
from nerve.db.base import insert_rows, table
from nerve.profiles.models import ProfileTrait, TraitHistory

# Identifying traits live in the identity graph; the rest are the person's attributes.
MAX_TRAITS_PER_EVENT = 200


def _rank(observed_at: datetime, value: Any) -> tuple[datetime, bytes]:
    # The value breaks ties between equal event times, so delivery order never decides.
    return observed_at, numbers.dumps(value, option=orjson.OPT_SORT_KEYS)


def wins(
    candidate: tuple[datetime, Any], current: tuple[datetime, Any] | None, first_wins: bool
) -> bool:
    if current is None:
        return True
    if first_wins:
        return _rank(*candidate) < _rank(*current)
    return _rank(*candidate) > _rank(*current)


@dataclass(frozen=True)
class Observation:
    profile_id: str
    name: str
    value: Any
    observed_at: datetime
    event_id: int | None


def record(
    conn: Connection,
    workspace_id: str,
    observations: list[Observation],
    first_value_traits: list[str],
) -> set[tuple[str, str]]:
    """Keep the history of every observed value and the surviving value per trait; returns the
    (profile, trait) pairs whose surviving value changed."""
    if not observations:
        return set()
    leaves = {o.profile_id for o in observations}
    current = {
        (row.profile_id, row.name): (row.observed_at, row.value)
        for row in conn.execute(
            select(
                ProfileTrait.profile_id,
                ProfileTrait.name,
                ProfileTrait.observed_at,
                ProfileTrait.value,
            ).where(ProfileTrait.profile_id.in_(leaves))
        )
    }
    existing = set(current)
    winners: dict[tuple[str, str], Observation] = {}
    for o in observations:
        key = (o.profile_id, o.name)
        if wins((o.observed_at, o.value), current.get(key), o.name in first_value_traits):
            current[key] = (o.observed_at, o.value)
            winners[key] = o
    if observations:
        conn.execute(
            insert(table(TraitHistory)),
            [
                {"workspace_id": workspace_id, "profile_id": o.profile_id, "name": o.name,
                 "value": o.value, "observed_at": o.observed_at, "event_id": o.event_id}
                for o in observations
            ],
        )  # fmt: skip
    rows = [
        {"b_profile": o.profile_id, "b_name": o.name, "value": o.value,
         "observed_at": o.observed_at, "event_id": o.event_id}
        for key, o in winners.items() if key in existing
    ]  # fmt: skip
    if rows:
        conn.execute(
            update(ProfileTrait).where(
                ProfileTrait.profile_id == bindparam("b_profile"),
                ProfileTrait.name == bindparam("b_name"),
            ),
            rows,
        )
    new = [
        {"profile_id": o.profile_id, "name": o.name, "workspace_id": workspace_id,
         "value": o.value, "observed_at": o.observed_at, "event_id": o.event_id}
        for key, o in winners.items() if key not in existing
    ]  # fmt: skip
    if new:
        insert_rows(conn, ProfileTrait, new)
    return set(winners)


def combine(rows: list[Any], first_value_traits: list[str]) -> dict[str, tuple[Any, datetime]]:
    """The surviving value of each trait over several profiles of one person."""
    best: dict[str, tuple[datetime, Any]] = {}
    for row in rows:
        candidate = (row.observed_at, row.value)
        if wins(candidate, best.get(row.name), row.name in first_value_traits):
            best[row.name] = candidate
    return {name: (value, at) for name, (at, value) in best.items()}
