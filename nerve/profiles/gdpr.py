"""GDPR: export all held about a person; erase it, keeping keyed hashes for suppression."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select, update

from nerve.db import locks
from nerve.db.dialect import insert_ignoring_duplicates
from nerve.db.locks import transaction_lock
from nerve.events.models import Event
from nerve.identity.models import Identifier, Merge, Profile
from nerve.identity.rules import MergeRules
from nerve.profiles import service
from nerve.profiles.models import (
    AuditRecord,
    ErasedIdentifier,
    ProfileOrder,
    ProfileTrait,
    TraitHistory,
)
from nerve.workspaces.models import Workspace

# Kept after erasure (as keyed hashes) so an erased address can still be suppressed.
SUPPRESSIBLE_TYPES = ("email", "phone")


def _leaves(conn: Connection, root: str) -> list[str]:
    return list(conn.scalars(select(Profile.id).where(Profile.cluster_id == root)))


def export(conn: Connection, workspace_id: str, root: str, rules: MergeRules) -> dict[str, Any]:
    leaves = _leaves(conn, root)
    events = [
        {"id": r.id, "sourceId": r.source_id, **r.payload}
        for r in conn.execute(
            select(Event.id, Event.source_id, Event.payload)
            .where(Event.profile_id.in_(leaves))
            .order_by(Event.timestamp, Event.id)
        )
    ]
    history = [
        {"name": r.name, "value": r.value, "observed_at": r.observed_at, "event_id": r.event_id}
        for r in conn.execute(
            select(TraitHistory)
            .where(TraitHistory.profile_id.in_(leaves))
            .order_by(TraitHistory.id)
        )
    ]
    orders = [
        {
            "order_id": o.order_id,
            "total": o.total,
            "currency": o.currency,
            "ordered_at": o.ordered_at,
        }
        for o in conn.execute(select(ProfileOrder).where(ProfileOrder.profile_id.in_(leaves)))
    ]
    return {
        "profile": service.person(conn, workspace_id, root, rules),
        "trait_history": history,
        "orders": orders,
        "merges": service.merges(conn, workspace_id, root),
        "events": events,
    }


def _hash_key(conn: Connection, workspace_id: str) -> bytes:
    key = conn.scalar(select(Workspace.hash_key).where(Workspace.id == workspace_id))
    if not key:
        key = secrets.token_hex(32)
        conn.execute(update(Workspace).where(Workspace.id == workspace_id).values(hash_key=key))
    return bytes.fromhex(key)


def identifier_hash(conn: Connection, workspace_id: str, value: str) -> str:
    return hmac.new(_hash_key(conn, workspace_id), value.encode(), hashlib.sha256).hexdigest()


def is_erased(conn: Connection, workspace_id: str, identifier_type: str, value: str) -> bool:
    digest = identifier_hash(conn, workspace_id, value)
    found = conn.scalar(
        select(ErasedIdentifier.hash).where(
            ErasedIdentifier.workspace_id == workspace_id,
            ErasedIdentifier.type == identifier_type,
            ErasedIdentifier.hash == digest,
        )
    )
    return found is not None


def erase(conn: Connection, workspace_id: str, root: str, actor: str) -> None:
    """Delete the person and everything derived; record who erased whom, and when."""
    transaction_lock(conn, locks.IDENTITY_GRAPH)
    leaves = _leaves(conn, root)
    idents = conn.execute(
        select(Identifier.type, Identifier.value).where(Identifier.profile_id.in_(leaves))
    ).all()
    for kind, value in idents:
        if kind in SUPPRESSIBLE_TYPES:
            conn.execute(
                insert_ignoring_duplicates(
                    conn.dialect, ErasedIdentifier.__table__, ["workspace_id", "type", "hash"]
                ).values(
                    workspace_id=workspace_id,
                    type=kind,
                    hash=identifier_hash(conn, workspace_id, value),
                )
            )
    user_ids = [v for k, v in idents if k == "user_id"]
    anonymous_ids = [v for k, v in idents if k == "anonymous_id"]
    conn.execute(
        delete(Event).where(
            Event.workspace_id == workspace_id,
            or_(
                Event.profile_id.in_(leaves),
                Event.user_id.in_(user_ids),
                Event.anonymous_id.in_(anonymous_ids),
            ),
        )
    )
    for table in (TraitHistory, ProfileTrait, ProfileOrder, Identifier):
        conn.execute(delete(table).where(table.profile_id.in_(leaves)))
    conn.execute(
        delete(Merge).where(or_(Merge.survivor_id.in_(leaves), Merge.merged_id.in_(leaves)))
    )
    conn.execute(delete(Profile).where(Profile.id.in_(leaves)))
    conn.execute(
        insert(AuditRecord).values(
            workspace_id=workspace_id, actor=actor, action="profile.erased", target=root
        )
    )
