"""The one person view: what the API shows, what flow conditions test (`profile.traits.x`,
`profile.computed.order_count`), what segments and personalization will read."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, select

from nerve.identity import service as identity
from nerve.identity.rules import MergeRules, load_rules
from nerve.orders import service as orders
from nerve.profiles import computed, traits
from nerve.profiles.models import ProfileAttributes, ProfileTrait
from nerve.profiles.schemas import ComputedAttributes, Person, PersonIdentifier, SourceSeen
from nerve.workspaces import service as workspaces


def person(
    conn: Connection, workspace_id: str, person_id: str, rules: MergeRules | None = None
) -> Person:
    """Everything known about one person (a merge-tree root), over all their profiles."""
    rules = rules or load_rules(conn, workspace_id)
    profile_ids = identity.members(conn, person_id)
    now = datetime.now(UTC)
    stats = computed.PersonStats()
    for leaf in conn.execute(
        select(ProfileAttributes).where(ProfileAttributes.profile_id.in_(profile_ids))
    ):
        stats.absorb(leaf, now)
    trait_rows = conn.execute(
        select(ProfileTrait.name, ProfileTrait.value, ProfileTrait.observed_at).where(
            ProfileTrait.profile_id.in_(profile_ids)
        )
    ).all()
    surviving = traits.combine(list(trait_rows), rules.first_value_traits)
    bought = orders.totals(conn, profile_ids)
    sources = workspaces.sources_by_id(conn, list(stats.sources))
    seen = [
        SourceSeen(id=s.id, name=s.name, kind=s.kind,
                   last_seen=datetime.fromisoformat(stats.sources[s.id]))
        for s in sorted(sources, key=lambda s: s.name)
    ]  # fmt: skip
    interests = sorted(stats.interests.items(), key=lambda kv: (-kv[1], kv[0]))
    return Person(
        id=person_id,
        merged_ids=sorted(i for i in profile_ids if i != person_id),
        identifiers=[
            PersonIdentifier(type=t, value=v) for t, v in identity.identifiers_of(conn, profile_ids)
        ],
        traits={name: value for name, (value, _) in sorted(surviving.items())},
        computed=ComputedAttributes(
            first_seen=stats.first_seen,
            last_seen=stats.last_seen,
            sources=seen,
            order_count=bought.count,
            total_spent=bought.spent,
            average_order_value=round(bought.spent / bought.count, 2) if bought.count else None,
            last_order_at=bought.last_at,
            timezone=stats.timezone,
            interests={key: round(score, 4) for key, score in interests},
        ),
    )


def person_of_profile(conn: Connection, workspace_id: str, profile_id: str) -> Person | None:
    """The person a profile id belongs to now (it may have merged since), or None if erased."""
    people = identity.people_of(conn, [profile_id])
    if profile_id not in people:
        return None
    return person(conn, workspace_id, people[profile_id])
