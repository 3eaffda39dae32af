"""Personal data of profiles: traits, their history, computed attributes (and the person view
shown at the top of an export)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, select

from nerve.privacy.subject import PersonalData, Subject
from nerve.profiles.models import ProfileAttributes, ProfileTrait, TraitHistory
from nerve.profiles.view import person


def _export_profile(conn: Connection, subject: Subject) -> dict[str, Any]:
    return person(conn, subject.workspace_id, subject.person_id).model_dump(mode="json")


def _export_history(conn: Connection, subject: Subject) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(TraitHistory.name, TraitHistory.value, TraitHistory.observed_at,
               TraitHistory.event_id)
        .where(TraitHistory.profile_id.in_(subject.profile_ids))
        .order_by(TraitHistory.id)
    )  # fmt: skip
    return [dict(row._mapping) for row in rows]


def _erase(conn: Connection, subject: Subject) -> None:
    for table in (TraitHistory, ProfileTrait, ProfileAttributes):
        conn.execute(delete(table).where(table.profile_id.in_(subject.profile_ids)))


def _nothing(conn: Connection, subject: Subject) -> None:
    return None  # the history's rows are erased with the traits


PROFILE = PersonalData(
    "profile", ("profile_traits", "profile_attributes"), erase=_erase, export=_export_profile
)
TRAIT_HISTORY = PersonalData(
    "trait_history", ("trait_history",), erase=_nothing, export=_export_history
)
