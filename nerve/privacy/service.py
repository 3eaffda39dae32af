"""GDPR: export all held about a person; erase it everywhere in one transaction, keeping only
keyed hashes of erased addresses so they stay suppressed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from nerve.audit import service as audit
from nerve.db.dialect import dialect_of
from nerve.identity import service as identity
from nerve.privacy import suppression
from nerve.privacy.models import ErasedIdentifier
from nerve.privacy.registry import REGISTRY
from nerve.privacy.subject import Subject
from nerve.workspaces import service as workspaces

# Kept after erasure (as keyed hashes) so the person's events are still suppressed at ingest.
SUPPRESSIBLE_TYPES = ("email", "phone", "user_id")


def _subject(conn: Connection, workspace_id: str, person_id: str) -> Subject:
    profile_ids = identity.members(conn, person_id)
    return Subject(workspace_id, person_id, profile_ids, identity.identifiers_of(conn, profile_ids))


def export(conn: Connection, workspace_id: str, profile_id: str) -> dict[str, Any]:
    """Everything held about the person a profile id belongs to, one section per kind."""
    subject = _subject(conn, workspace_id, identity.person_of(conn, workspace_id, profile_id))
    return {data.name: data.export(conn, subject) for data in REGISTRY if data.export is not None}


def erase(conn: Connection, workspace_id: str, profile_id: str, actor: str) -> None:
    """Delete the person and everything derived from them; record who erased whom, and when."""
    person_id = identity.locked_person(conn, workspace_id, profile_id)
    subject = _subject(conn, workspace_id, person_id)
    rows = [
        {"workspace_id": workspace_id, "type": kind,
         "hash": identifier_hash(conn, workspace_id, value)}
        for kind, value in subject.identifiers if kind in SUPPRESSIBLE_TYPES
    ]  # fmt: skip
    if rows:
        insert = dialect_of(conn).insert_ignoring_duplicates(
            ErasedIdentifier.__table__, ["workspace_id", "type", "hash"]
        )
        conn.execute(insert, rows)
    for data in REGISTRY:
        data.erase(conn, subject)
    audit.record(conn, workspace_id, actor, "profile.erased", person_id)


def identifier_hash(conn: Connection, workspace_id: str, value: str) -> str:
    return suppression.identifier_hash(workspaces.hash_key(conn, workspace_id), value)


def erased_among(
    conn: Connection, workspace_id: str, identifier_type: str, digests: list[str]
) -> set[str]:
    """Which of these identifier hashes (identifier_hash) belong to erased people."""
    if not digests:
        return set()
    return set(
        conn.scalars(
            select(ErasedIdentifier.hash).where(
                ErasedIdentifier.workspace_id == workspace_id,
                ErasedIdentifier.type == identifier_type,
                ErasedIdentifier.hash.in_(digests),
            )
        )
    )


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
