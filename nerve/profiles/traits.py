"""Trait survivorship: per trait, the value with the latest event time wins (or the first)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select, update

from nerve.profiles.models import ProfileTrait, TraitHistory

# Identifying traits live in the identity graph; the rest are the person's attributes.
MAX_TRAITS_PER_EVENT = 200


def _rank(observed_at: datetime, value: Any) -> tuple[datetime, bytes]:
    # The value breaks ties between equal event times, so delivery order never decides.
    return observed_at, orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def wins(
    candidate: tuple[datetime, Any], current: tuple[datetime, Any] | None, first_wins: bool
) -> bool:
    if current is None:
        return True
    if first_wins:
        return _rank(*candidate) < _rank(*current)
    return _rank(*candidate) > _rank(*current)


def record(
    conn: Connection,
    workspace_id: str,
    profile_id: str,
    traits: dict[str, Any],
    observed_at: datetime,
    event_id: int | None,
    first_value_traits: list[str],
) -> None:
    """Keep the history of every observed value and the surviving value per trait."""
    names = [str(name)[:255] for name in list(traits)[:MAX_TRAITS_PER_EVENT]]
    if not names:
        return
    current = {
        row.name: (row.observed_at, row.value)
        for row in conn.execute(
            select(ProfileTrait.name, ProfileTrait.observed_at, ProfileTrait.value).where(
                ProfileTrait.profile_id == profile_id, ProfileTrait.name.in_(names)
            )
        )
    }
    for name, value in zip(names, list(traits.values())[:MAX_TRAITS_PER_EVENT], strict=True):
        conn.execute(
            insert(TraitHistory).values(
                workspace_id=workspace_id,
                profile_id=profile_id,
                name=name,
                value=value,
                observed_at=observed_at,
                event_id=event_id,
            )
        )
        if not wins((observed_at, value), current.get(name), name in first_value_traits):
            continue
        values = {"value": value, "observed_at": observed_at, "event_id": event_id}
        if name in current:
            conn.execute(
                update(ProfileTrait)
                .where(ProfileTrait.profile_id == profile_id, ProfileTrait.name == name)
                .values(**values)
            )
        else:
            conn.execute(
                insert(ProfileTrait).values(
                    profile_id=profile_id, name=name, workspace_id=workspace_id, **values
                )
            )
        current[name] = (observed_at, value)


def combine(rows: list[Any], first_value_traits: list[str]) -> dict[str, tuple[Any, datetime]]:
    """The surviving value of each trait over several profiles of one person."""
    best: dict[str, tuple[datetime, Any]] = {}
    for row in rows:
        candidate = (row.observed_at, row.value)
        if wins(candidate, best.get(row.name), row.name in first_value_traits):
            best[row.name] = candidate
    return {name: (value, at) for name, (at, value) in best.items()}
