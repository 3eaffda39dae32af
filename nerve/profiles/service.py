"""The person behind a profile id: view, lookup, timeline, merge log, unmerge."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, func, insert, or_, select, update

from nerve.db import locks
from nerve.db.base import utcnow
from nerve.db.dialect import insert_ignoring_duplicates
from nerve.db.locks import transaction_lock
from nerve.errors import Conflict, InvalidInput, NotFound
from nerve.events.models import Event
from nerve.identity.extract import normalize_email, normalize_phone, traits_of
from nerve.identity.graph import merge_record, split_off
from nerve.identity.models import Identifier, Merge, Profile
from nerve.identity.rules import MergeRules
from nerve.profiles import computed, traits
from nerve.profiles.models import ProfileOrder, ProfileTrait
from nerve.workspaces.models import Source

if TYPE_CHECKING:
    from nerve.identity.resolver import PendingEvent

IDENTIFIER_TYPES = ("anonymous_id", "user_id", "email", "phone")


def apply_events(
    conn: Connection,
    workspace_id: str,
    attached: list[tuple[PendingEvent, str]],
    rules: MergeRules,
) -> None:
    """Update traits and computed attributes of the leaves that just received events."""
    leaves = {leaf for _, leaf in attached}
    columns = [getattr(Profile, name) for name in ("id", *_STAT_COLUMNS)]
    state = {
        row.id: SimpleNamespace(**row._mapping)
        for row in conn.execute(select(*columns).where(Profile.id.in_(leaves)))
    }
    dirty: set[str] = set()
    observations: list[traits.Observation] = []
    orders: list[dict[str, Any]] = []
    for event, leaf in attached:
        profile = state[leaf]
        changes = computed.leaf_update(profile, event.payload, event.timestamp, event.source_id)
        if changes:
            vars(profile).update(changes)
            dirty.add(leaf)
        for name, value in list(traits_of(event.payload).items())[: traits.MAX_TRAITS_PER_EVENT]:
            observations.append(
                traits.Observation(leaf, str(name)[:255], value, event.timestamp, event.id)
            )
        order = computed.order_of(event.payload)
        if order is not None:
            orders.append(_order_row(workspace_id, leaf, event, order))
    if dirty:
        conn.execute(
            update(Profile)
            .where(Profile.id == bindparam("b_id"))
            .values({name: bindparam(f"b_{name}") for name in _STAT_COLUMNS}),
            [
                {"b_id": leaf, **{f"b_{n}": getattr(state[leaf], n) for n in _STAT_COLUMNS}}
                for leaf in dirty
            ],
        )
    traits.record(conn, workspace_id, observations, rules.first_value_traits)
    if orders:
        conn.execute(
            insert_ignoring_duplicates(
                conn.dialect, ProfileOrder.__table__, ["workspace_id", "order_id"]
            ),
            orders,
        )


_STAT_COLUMNS = ("first_seen", "last_seen", "timezone", "timezone_at", "sources", "interests")


def _order_row(
    workspace_id: str, leaf: str, event: PendingEvent, order: tuple[str, float, str | None]
) -> dict[str, Any]:
    order_id, total, currency = order
    return {
        "workspace_id": workspace_id,
        "order_id": order_id,
        "profile_id": leaf,
        "total": total,
        "currency": currency,
        "ordered_at": event.timestamp,
        "event_id": event.id,
    }


def resolve_root(conn: Connection, workspace_id: str, profile_id: str) -> str:
    """Any profile id, also a merged-away one, to the id of the person it now belongs to."""
    root = conn.scalar(
        select(Profile.cluster_id).where(
            Profile.id == profile_id, Profile.workspace_id == workspace_id
        )
    )
    if root is None:
        raise NotFound(f"no profile {profile_id}")
    return root


def parse_identifier(raw: str, rules: MergeRules) -> tuple[str, str]:
    kind, sep, value = raw.partition(":")
    if not sep or not kind or not value:
        raise InvalidInput(
            "identifier must look like TYPE:VALUE, e.g. email:anna@example.com",
            details={"identifier": raw},
        )
    if kind == "email":
        value = normalize_email(value) or value.strip().lower()
    elif kind == "phone":
        phone = normalize_phone(value, rules.default_region)
        if phone is None:
            raise InvalidInput(
                f"{value!r} is not a valid phone number (E.164, e.g. +4915112345678)",
                details={"identifier": raw},
            )
        value = phone
    return kind, value


def lookup(conn: Connection, workspace_id: str, kind: str, value: str) -> str:
    leaf = conn.scalar(
        select(Identifier.profile_id).where(
            Identifier.workspace_id == workspace_id,
            Identifier.type == kind,
            Identifier.value == value,
        )
    )
    if leaf is None:
        raise NotFound(f"no profile with {kind} {value!r}")
    return resolve_root(conn, workspace_id, leaf)


def person(conn: Connection, workspace_id: str, root: str, rules: MergeRules) -> dict[str, Any]:
    """Everything known about one person, combined over all profiles merged into it."""
    leaves = conn.execute(select(Profile).where(Profile.cluster_id == root)).all()
    now = datetime.now(UTC)
    stats = computed.PersonStats()
    for leaf in leaves:
        stats.absorb(leaf, now)
    leaf_ids = [leaf.id for leaf in leaves]
    trait_rows = conn.execute(
        select(ProfileTrait.name, ProfileTrait.value, ProfileTrait.observed_at).where(
            ProfileTrait.profile_id.in_(leaf_ids)
        )
    ).all()
    surviving = traits.combine(list(trait_rows), rules.first_value_traits)
    orders = conn.execute(
        select(func.count(), func.sum(ProfileOrder.total), func.max(ProfileOrder.ordered_at)).where(
            ProfileOrder.profile_id.in_(leaf_ids)
        )
    ).one()
    idents = conn.execute(
        select(Identifier.type, Identifier.value).where(Identifier.profile_id.in_(leaf_ids))
    ).all()
    source_rows = conn.execute(
        select(Source.id, Source.name, Source.kind).where(Source.id.in_(list(stats.sources)))
    ).all()
    order_count, total_spent = int(orders[0] or 0), round(float(orders[1] or 0.0), 2)
    last_order_at = (
        orders[2].replace(tzinfo=UTC) if orders[2] and orders[2].tzinfo is None else orders[2]
    )
    return {
        "id": root,
        "merged_ids": sorted(i for i in leaf_ids if i != root),
        "identifiers": sorted(
            ({"type": t, "value": v} for t, v in idents), key=lambda i: (i["type"], i["value"])
        ),
        "traits": {name: value for name, (value, _) in sorted(surviving.items())},
        "computed": {
            "first_seen": stats.first_seen,
            "last_seen": stats.last_seen,
            "sources": [
                {
                    "id": s.id,
                    "name": s.name,
                    "kind": s.kind,
                    "last_seen": datetime.fromisoformat(stats.sources[s.id]),
                }
                for s in sorted(source_rows, key=lambda s: s.name)
            ],
            "order_count": order_count,
            "total_spent": total_spent,
            "average_order_value": round(total_spent / order_count, 2) if order_count else None,
            "last_order_at": last_order_at,
            "timezone": stats.timezone,
            "interests": dict(
                sorted(
                    ((k, round(v, 4)) for k, v in stats.interests.items()),
                    key=lambda kv: (-kv[1], kv[0]),
                )
            ),
        },
    }


def timeline(
    conn: Connection, root: str, limit: int, after: tuple[datetime, int] | None
) -> tuple[list[dict[str, Any]], tuple[datetime, int] | None]:
    """Events of every head, of every merged profile, in event-time order."""
    query = (
        select(Event.id, Event.source_id, Event.timestamp, Event.payload)
        .join(Profile, Profile.id == Event.profile_id)
        .where(Profile.cluster_id == root)
    )
    if after is not None:
        at, event_id = after
        query = query.where(
            or_(Event.timestamp > at, (Event.timestamp == at) & (Event.id > event_id))
        )
    rows = conn.execute(query.order_by(Event.timestamp, Event.id).limit(limit + 1)).all()
    page = rows[:limit]
    events = [{"id": r.id, "sourceId": r.source_id, **r.payload} for r in page]
    last = (page[-1].timestamp, page[-1].id) if len(rows) > limit else None
    return events, last


def merges(conn: Connection, workspace_id: str, root: str) -> list[dict[str, Any]]:
    leaf_ids = select(Profile.id).where(Profile.cluster_id == root)
    rows = conn.execute(
        select(Merge)
        .where(
            Merge.workspace_id == workspace_id,
            or_(Merge.survivor_id.in_(leaf_ids), Merge.merged_id.in_(leaf_ids)),
        )
        .order_by(Merge.created_at, Merge.id)
    ).all()
    return [
        {
            "id": m.id,
            "kind": m.kind,
            "survivor_id": m.survivor_id,
            "merged_id": m.merged_id,
            "event_id": m.event_id,
            "rule": m.rule,
            "reason": m.reason,
            "details": m.details,
            "created_at": m.created_at,
            "undone_at": m.undone_at,
        }
        for m in rows
    ]


def unmerge(
    conn: Connection, workspace_id: str, profile_id: str, merge_id: str | None
) -> dict[str, Any]:
    """Undo a merge: the merged profile and what was attached to it become a person again."""
    transaction_lock(conn, locks.IDENTITY_GRAPH)
    query = select(Merge).where(
        Merge.workspace_id == workspace_id, Merge.kind == "merged", Merge.undone_at.is_(None)
    )
    if merge_id:
        query = query.where(Merge.id == merge_id)
    else:
        query = query.where(Merge.merged_id == profile_id)
    record = conn.execute(query.order_by(Merge.created_at.desc())).first()
    if record is None:
        raise NotFound("no active merge to undo for this profile")
    root = resolve_root(conn, workspace_id, profile_id)
    if resolve_root(conn, workspace_id, record.merged_id) != root:
        raise Conflict("that merge does not belong to this profile")
    split_off(conn, record.merged_id)
    conn.execute(update(Merge).where(Merge.id == record.id).values(undone_at=utcnow()))
    undo = merge_record(
        workspace_id, "unmerged", record.survivor_id, record.merged_id, None, "manual",
        f"undid {record.id}",
    )  # fmt: skip
    conn.execute(insert(Merge).values(undo))
    return {
        "survivor_id": resolve_root(conn, workspace_id, record.survivor_id),
        "restored_id": record.merged_id,
    }
