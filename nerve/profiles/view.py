"""The one person view: what the API shows, what flow conditions test (`profile.traits.x`,
`profile.computed.order_count`), what segments and personalization will read.

`People` reads the views of many people at once — a handful of queries for a whole batch of the
pipeline, instead of seven per person — and builds each `Person` when it is asked for."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from nerve.identity import service as identity
from nerve.identity.rules import MergeRules, load_rules
from nerve.orders import service as orders
from nerve.profiles import computed, traits
from nerve.profiles.models import ProfileAttributes, ProfileTrait
from nerve.profiles.schemas import ComputedAttributes, Person, PersonIdentifier, SourceSeen
from nerve.workspaces import service as workspaces

_CHUNK = 5000  # ids per IN list (PostgreSQL binds at most 65,535 parameters per statement)


class People:
    """The views of `members` (person id → every profile id of that person), read together."""

    def __init__(
        self,
        conn: Connection,
        workspace_id: str,
        members: Mapping[str, Iterable[str]],
        rules: MergeRules,
    ) -> None:
        self._rules = rules
        self._members = {person: sorted(set(ids), key=lambda i: (i != person, i))
                         for person, ids in members.items()}  # fmt: skip
        profile_ids = [i for ids in self._members.values() for i in ids]
        now = datetime.now(UTC)
        self._stats: dict[str, computed.PersonStats] = {}
        attributes = _by_profile(conn, ProfileAttributes, profile_ids)
        self._traits = _trait_rows(conn, profile_ids)
        self._orders = orders.totals_by_profile(conn, profile_ids)
        self._identifiers = identity.identifiers_by_profile(conn, profile_ids)
        for person, ids in self._members.items():
            stats = self._stats[person] = computed.PersonStats()
            for profile_id in ids:
                for leaf in attributes.get(profile_id, []):
                    stats.absorb(leaf, now)
        used = {source for stats in self._stats.values() for source in stats.sources}
        self._sources = {s.id: s for s in workspaces.sources_by_id(conn, sorted(used))}

    def __iter__(self) -> Iterator[str]:
        return iter(self._members)

    def get(self, person_id: str) -> Person:
        ids, stats = self._members[person_id], self._stats[person_id]
        surviving = traits.combine(
            [row for i in ids for row in self._traits.get(i, [])], self._rules.first_value_traits
        )
        bought = orders.combine([self._orders[i] for i in ids if i in self._orders])
        seen = [
            SourceSeen(id=s.id, name=s.name, kind=s.kind,
                       last_seen=datetime.fromisoformat(stats.sources[s.id]))
            for s in sorted((self._sources[i] for i in stats.sources if i in self._sources),
                            key=lambda s: s.name)
        ]  # fmt: skip
        interests = sorted(stats.interests.items(), key=lambda kv: (-kv[1], kv[0]))
        held = sorted(pair for i in ids for pair in self._identifiers.get(i, []))
        return Person(
            id=person_id,
            merged_ids=[i for i in ids if i != person_id],
            identifiers=[PersonIdentifier(type=t, value=v) for t, v in held],
            traits={name: value for name, (value, _) in sorted(surviving.items())},
            computed=ComputedAttributes(
                first_seen=stats.first_seen,
                last_seen=stats.last_seen,
                sources=seen,
                order_count=bought.count,
                total_spent=bought.spent,
                average_order_value=bought.average,
                spend_currency=bought.currency,
                last_order_at=bought.last_at,
                timezone=stats.timezone,
                interests={key: round(score, 4) for key, score in interests},
                top_brand=_top(interests, "brand:"),
                top_category=_top(interests, "category:"),
            ),
        )


def _top(interests: list[tuple[str, float]], kind: str) -> str | None:
    """The highest interest of a kind (`brand:`), for conditions such as
    profile.computed.top_brand == trigger.properties.brand."""
    return next((key[len(kind) :] for key, _ in interests if key.startswith(kind)), None)


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _by_profile(conn: Connection, table: Any, profile_ids: list[str]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for chunk in _chunks(profile_ids):
        for row in conn.execute(select(table).where(table.profile_id.in_(chunk))):
            found.setdefault(row.profile_id, []).append(row)
    return found


def _trait_rows(conn: Connection, profile_ids: list[str]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    columns = (ProfileTrait.profile_id, ProfileTrait.name, ProfileTrait.value,
               ProfileTrait.observed_at)  # fmt: skip
    for chunk in _chunks(profile_ids):
        for row in conn.execute(select(*columns).where(ProfileTrait.profile_id.in_(chunk))):
            found.setdefault(row.profile_id, []).append(row)
    return found


def person(
    conn: Connection, workspace_id: str, person_id: str, rules: MergeRules | None = None
) -> Person:
    """Everything known about one person (a merge-tree root), over all their profiles."""
    rules = rules or load_rules(conn, workspace_id)
    members = {person_id: identity.members(conn, person_id)}
    return People(conn, workspace_id, members, rules).get(person_id)


def people(conn: Connection, workspace_id: str, person_ids: Iterable[str]) -> dict[str, Person]:
    """The views of these people (merge-tree roots), read together: a handful of queries for
    a chunk of a broadcast; erased people are missing."""
    members = {p: ids for p, ids in identity.members_of(conn, person_ids).items() if ids}
    if not members:
        return {}
    read = People(conn, workspace_id, members, load_rules(conn, workspace_id))
    return {person_id: read.get(person_id) for person_id in read}


def traits_of_people(
    conn: Connection, members: Mapping[str, Iterable[str]], rules: MergeRules
) -> dict[str, dict[str, Any]]:
    """Only the surviving traits of these people (person id → every profile id), as `Person.traits`
    has them: one query, for readers that need no more of the view (a segment build testing a
    trait over a million people)."""
    rows = _trait_rows(conn, sorted({i for ids in members.values() for i in ids}))
    found = {}
    for person_id, ids in members.items():
        surviving = traits.combine([r for i in ids for r in rows.get(i, [])],
                                   rules.first_value_traits)  # fmt: skip
        found[person_id] = {name: value for name, (value, _) in sorted(surviving.items())}
    return found


def people_of_profiles(
    conn: Connection, workspace_id: str, profile_ids: Iterable[str]
) -> dict[str, Person]:
    """The person each profile id belongs to now, read together (a batch of sends); erased
    profiles are missing."""
    people = identity.people_of(conn, profile_ids)
    if not people:
        return {}
    members = identity.members_of(conn, people.values())
    read = People(conn, workspace_id, members, load_rules(conn, workspace_id))
    return {profile: read.get(person) for profile, person in people.items()}


def person_of_profile(conn: Connection, workspace_id: str, profile_id: str) -> Person | None:
    """The person a profile id belongs to now (it may have merged since), or None if erased."""
    people = identity.people_of(conn, [profile_id])
    if profile_id not in people:
        return None
    return person(conn, workspace_id, people[profile_id])
