"""Pipeline consumer: attached events update the traits and computed attributes of the profiles
they were attached to; the trait names that changed are noted for the consumers after this one."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from nerve.db.base import table
from nerve.identity.attached import AttachedBatch
from nerve.identity.extract import traits_of
from nerve.profiles import computed, traits
from nerve.profiles.models import ProfileAttributes

_COLUMNS = ("first_seen", "last_seen", "timezone", "timezone_at", "sources", "interests")
_EMPTY: dict[str, Any] = {
    "first_seen": None, "last_seen": None, "timezone": None, "timezone_at": None,
    "sources": {}, "interests": {},
}  # fmt: skip


def update_profiles(conn: Connection, batch: AttachedBatch) -> None:
    leaves = {event.profile_id for event in batch.events}
    columns = [getattr(ProfileAttributes, name) for name in ("profile_id", *_COLUMNS)]
    state = {
        row.profile_id: SimpleNamespace(**row._mapping)
        for row in conn.execute(select(*columns).where(ProfileAttributes.profile_id.in_(leaves)))
    }
    new = leaves - set(state)
    for leaf in new:
        state[leaf] = SimpleNamespace(profile_id=leaf, **_EMPTY)
    dirty: set[str] = set()
    observations: list[traits.Observation] = []
    for event in batch.events:
        profile = state[event.profile_id]
        changes = computed.leaf_update(profile, event.payload, event.timestamp, event.source_id)
        if changes:
            vars(profile).update(changes)
            dirty.add(event.profile_id)
        for name, value in list(traits_of(event.payload).items())[: traits.MAX_TRAITS_PER_EVENT]:
            observations.append(
                traits.Observation(event.profile_id, str(name)[:255], value, event.timestamp,
                                   event.id)
            )  # fmt: skip
    _write(conn, batch.workspace_id, state, new, dirty - new)
    changed = traits.record(conn, batch.workspace_id, observations, batch.rules.first_value_traits)
    person_of = {event.profile_id: event.person_id for event in batch.events}
    for leaf, name in changed:
        batch.traits_changed.setdefault(person_of[leaf], set()).add(name)


def _write(
    conn: Connection,
    workspace_id: str,
    state: dict[str, SimpleNamespace],
    new: set[str],
    dirty: set[str],
) -> None:
    if new:
        conn.execute(
            insert(table(ProfileAttributes)),
            [{"workspace_id": workspace_id, **vars(state[leaf])} for leaf in new],
        )
    if dirty:
        conn.execute(
            update(ProfileAttributes)
            .where(ProfileAttributes.profile_id == bindparam("b_id"))
            .values({name: bindparam(f"b_{name}") for name in _COLUMNS}),
            [
                {"b_id": leaf, **{f"b_{n}": getattr(state[leaf], n) for n in _COLUMNS}}
                for leaf in dirty
            ],
        )
