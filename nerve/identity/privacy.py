"""Personal data in the identity graph: identifiers, the merge log (which names identifiers),
the profiles of the merge tree. Erased last: the other capabilities find the person through it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, or_

from nerve.identity.models import Identifier, Merge, Profile
from nerve.identity.service import merges
from nerve.privacy.subject import PersonalData, Subject


def _export(conn: Connection, subject: Subject) -> list[dict[str, Any]]:
    return merges(conn, subject.workspace_id, subject.person_id)


def _erase(conn: Connection, subject: Subject) -> None:
    leaves = subject.profile_ids
    conn.execute(delete(Identifier).where(Identifier.profile_id.in_(leaves)))
    conn.execute(
        delete(Merge).where(or_(Merge.survivor_id.in_(leaves), Merge.merged_id.in_(leaves)))
    )
    conn.execute(delete(Profile).where(Profile.id.in_(leaves)))


IDENTITY = PersonalData(
    "merges", ("identifiers", "merges", "profiles"), erase=_erase, export=_export
)
