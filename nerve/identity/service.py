"""The identity graph as other capabilities and the API see it: who a profile id or an
identifier belongs to, a person's profiles and identifiers, the merge log, unmerge, and the
workspace's merge rules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    bindparam,
    distinct,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)

from nerve.audit import service as audit
from nerve.db.base import utcnow
from nerve.db.dialect import dialect_of
from nerve.errors import Conflict, InvalidInput, NotFound
from nerve.identity.extract import normalize_email, normalize_phone
from nerve.identity.graph import merge_record, split_off
from nerve.identity.models import Identifier, IdentityRules, Merge, Profile
from nerve.identity.resolver import lock_people
from nerve.identity.rules import MergeRules, load_rules

BUILT_IN_TYPES = ("user_id", "anonymous_id", "email", "phone")


# --- who is who ---------------------------------------------------------------------------------


def person_of(conn: Connection, workspace_id: str, profile_id: str) -> str:
    """Any profile id, also a merged-away one, to the id of the person it now belongs to."""
    root = conn.scalar(
        select(Profile.cluster_id).where(
            Profile.id == profile_id, Profile.workspace_id == workspace_id
        )
    )
    if root is None:
        raise NotFound(f"no profile {profile_id}")
    return root


def locked_person(conn: Connection, workspace_id: str, profile_id: str) -> str:
    """The person of `profile_id`, locked against resolvers for this transaction (unmerge,
    erase). A resolver may merge the person into another while we wait: lock until stable."""
    locked: set[str] = set()
    while True:
        root = person_of(conn, workspace_id, profile_id)
        if root in locked:
            return root
        lock_people(conn, dialect_of(conn), workspace_id, {root})
        locked.add(root)


def people_of(conn: Connection, profile_ids: Iterable[str]) -> dict[str, str]:
    """Profile id → the person it belongs to now; erased profiles are missing."""
    wanted = set(profile_ids)
    if not wanted:
        return {}
    rows = conn.execute(select(Profile.id, Profile.cluster_id).where(Profile.id.in_(wanted)))
    return {profile: person for profile, person in rows}


def members(conn: Connection, person_id: str) -> list[str]:
    """Every profile id of a person (the root first)."""
    ids = list(conn.scalars(select(Profile.id).where(Profile.cluster_id == person_id)))
    return sorted(ids, key=lambda i: (i != person_id, i))


def members_of(conn: Connection, person_ids: Iterable[str]) -> dict[str, list[str]]:
    """Every profile id of each person (the root first), in one query."""
    wanted = set(person_ids)
    found: dict[str, list[str]] = {person: [] for person in wanted}
    if wanted:
        rows = conn.execute(
            select(Profile.id, Profile.cluster_id).where(Profile.cluster_id.in_(wanted))
        )
        for profile, person in rows:
            found[person].append(profile)
    return {person: sorted(ids, key=lambda i: (i != person, i)) for person, ids in found.items()}


_SAME_PERSON = select(Profile.id, Profile.cluster_id).where(
    Profile.cluster_id
    == select(Profile.cluster_id).where(Profile.id == bindparam("profile")).scalar_subquery()
)


def person_and_members(conn: Connection, profile_id: str) -> tuple[str, list[str]] | None:
    """The person a profile belongs to now and every profile id of theirs (the root first), in
    one query built once (the fatigue cap asks on every marketing send); None when erased."""
    rows = conn.execute(_SAME_PERSON, {"profile": profile_id}).all()
    if not rows:
        return None
    person = rows[0].cluster_id
    return person, sorted((row.id for row in rows), key=lambda i: (i != person, i))


def identifiers_of(conn: Connection, profile_ids: list[str]) -> list[tuple[str, str]]:
    """(type, value) of every identifier the profiles hold, sorted."""
    rows = conn.execute(
        select(Identifier.type, Identifier.value).where(Identifier.profile_id.in_(profile_ids))
    )
    return sorted((t, v) for t, v in rows)


def identifiers_of_holders(workspace_id: str, pairs: list[tuple[str, str]]) -> Select[str, str]:
    """A query of (type, value) of every identifier of the people who hold any of `pairs` — for
    another capability to filter its rows by a person's identifiers in the same statement (a
    cart read is one query, not a lookup, the person's members and their identifiers)."""
    holders = (
        select(Profile.cluster_id)
        .join(Identifier, Identifier.profile_id == Profile.id)
        .where(Identifier.workspace_id == workspace_id,
               tuple_(Identifier.type, Identifier.value).in_(pairs))
    )  # fmt: skip
    return (
        select(Identifier.type, Identifier.value)
        .join(Profile, Profile.id == Identifier.profile_id)
        .where(Profile.cluster_id.in_(holders))
    )


def identifiers_by_profile(
    conn: Connection, profile_ids: list[str]
) -> dict[str, list[tuple[str, str]]]:
    """(type, value) of every identifier, by the profile that holds it."""
    found: dict[str, list[tuple[str, str]]] = {}
    for start in range(0, len(profile_ids), 5000):
        rows = conn.execute(
            select(Identifier.profile_id, Identifier.type, Identifier.value).where(
                Identifier.profile_id.in_(profile_ids[start : start + 5000])
            )
        )
        for profile_id, kind, value in rows:
            found.setdefault(profile_id, []).append((kind, value))
    return found


def parse_identifier(conn: Connection, raw: str, rules: MergeRules) -> tuple[str, str]:
    """`TYPE:VALUE` as a lookup key, normalised as the resolver stores it."""
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


def lookup(conn: Connection, workspace_id: str, kind: str, value: str, rules: MergeRules) -> str:
    """The person holding identifier `kind`:`value`."""
    leaf = conn.scalar(
        select(Identifier.profile_id).where(
            Identifier.workspace_id == workspace_id,
            Identifier.type == kind,
            Identifier.value == value,
        )
    )
    if leaf is not None:
        return person_of(conn, workspace_id, leaf)
    known = [*BUILT_IN_TYPES, *rules.external_id_traits]
    if kind not in known and not _type_in_use(conn, workspace_id, kind):
        raise InvalidInput(
            f"unknown identifier type {kind!r}",
            details={"identifier_types": known},
        )
    raise NotFound(f"no profile with {kind} {value!r}")


def _type_in_use(conn: Connection, workspace_id: str, kind: str) -> bool:
    """Types sent as context.externalIds are identifiers too, once seen."""
    found = conn.scalar(
        select(Identifier.id)
        .where(Identifier.workspace_id == workspace_id, Identifier.type == kind)
        .limit(1)
    )
    return found is not None


# --- the merge log and unmerge ------------------------------------------------------------------


def merges(conn: Connection, workspace_id: str, person_id: str) -> list[dict[str, Any]]:
    leaf_ids = select(Profile.id).where(Profile.cluster_id == person_id)
    rows = conn.execute(
        select(Merge)
        .where(
            Merge.workspace_id == workspace_id,
            or_(Merge.survivor_id.in_(leaf_ids), Merge.merged_id.in_(leaf_ids)),
        )
        .order_by(Merge.created_at, Merge.id)
    ).all()
    columns = ("id", "kind", "survivor_id", "merged_id", "event_id", "rule", "reason", "details",
               "created_at", "undone_at")  # fmt: skip
    return [{name: getattr(m, name) for name in columns} for m in rows]


def unmerge(
    conn: Connection, workspace_id: str, profile_id: str, merge_id: str | None, actor: str
) -> dict[str, Any]:
    """Undo a merge: the merged profile and what was attached to it become a person again."""
    root = locked_person(conn, workspace_id, profile_id)
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
    if person_of(conn, workspace_id, record.merged_id) != root:
        raise Conflict("that merge does not belong to this profile")
    split_off(conn, record.merged_id)
    conn.execute(update(Merge).where(Merge.id == record.id).values(undone_at=utcnow()))
    undo = merge_record(
        workspace_id, "unmerged", record.survivor_id, record.merged_id, None, "manual",
        f"undid {record.id}",
    )  # fmt: skip
    conn.execute(insert(Merge).values(undo))
    audit.record(conn, workspace_id, actor, "profile.unmerged", record.id)
    return {
        "survivor_id": person_of(conn, workspace_id, record.survivor_id),
        "restored_id": record.merged_id,
    }


# --- merge rules --------------------------------------------------------------------------------


def get_rules(conn: Connection, workspace_id: str) -> MergeRules:
    return load_rules(conn, workspace_id)


def set_rules(conn: Connection, workspace_id: str, rules: MergeRules, actor: str) -> MergeRules:
    """Replace the workspace's merge rules; they apply to events resolved from then on."""
    stored = rules.model_dump()
    changed = conn.execute(
        update(IdentityRules).where(IdentityRules.workspace_id == workspace_id).values(rules=stored)
    )
    if changed.rowcount == 0:
        conn.execute(insert(IdentityRules).values(workspace_id=workspace_id, rules=stored))
    audit.record(conn, workspace_id, actor, "identity.rules.updated", workspace_id)
    return rules


# --- figures ------------------------------------------------------------------------------------


def people_after(conn: Connection, workspace_id: str, after: str | None, limit: int) -> list[str]:
    """Person ids (merge-tree roots) of the workspace in ascending order, after `after` (a
    cursor for a pass over everyone)."""
    query = select(Profile.id).where(
        Profile.workspace_id == workspace_id, Profile.id == Profile.cluster_id
    )
    if after is not None:
        query = query.where(Profile.id > after)
    return list(conn.scalars(query.order_by(Profile.id).limit(limit)))


def people_count(conn: Connection, workspace_id: str) -> int:
    query = select(func.count()).select_from(Profile)
    where = (Profile.workspace_id == workspace_id, Profile.id == Profile.cluster_id)
    return int(conn.scalar(query.where(*where)) or 0)


# Identifiers that name a person rather than a device.
PERSONAL_TYPES = ("email", "user_id", "phone")


def census(conn: Connection, workspace_id: str) -> dict[str, int]:
    """People (merge trees), identified people (with an email, user id or phone), and the
    merge log's active entries by kind (merged, rejected, relinked)."""
    people = conn.scalar(
        select(func.count())
        .select_from(Profile)
        .where(Profile.workspace_id == workspace_id, Profile.id == Profile.cluster_id)
    )
    identified = conn.scalar(
        select(func.count(distinct(Profile.cluster_id)))
        .select_from(Identifier)
        .join(Profile, Profile.id == Identifier.profile_id)
        .where(Identifier.workspace_id == workspace_id, Identifier.type.in_(PERSONAL_TYPES))
    )
    kinds: dict[str, int] = {
        kind: count
        for kind, count in conn.execute(
            select(Merge.kind, func.count())
            .where(Merge.workspace_id == workspace_id, Merge.undone_at.is_(None))
            .group_by(Merge.kind)
        )
    }
    return {"people": people or 0, "identified": identified or 0, **kinds}
