"""What a destination may get of the people in a batch: their hashed records, and whether they
allow it — read together for the whole batch.

Consent is kept per address (nerve/consent): a person allows the sync's topic when one of their
addresses (an email on the email channel, a phone on the sms channel) is subscribed to it and
none has withdrawn from it — a withdrawal anywhere wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection

from nerve.audiences.hashing import HashedMember, records
from nerve.consent import service as consent
from nerve.identity import service as identity


@dataclass(frozen=True)
class Reach:
    """One person as the sync sees them: their records (empty: no email and no phone, or
    erased) and whether they allow the topic."""

    records: list[HashedMember]
    allowed: bool


def reach(
    conn: Connection, workspace_id: str, person_ids: Iterable[str], topic: str | None
) -> dict[str, Reach]:
    """Each person id (as the segment logged it: it may have merged into another since) →
    their reach now."""
    wanted = sorted(set(person_ids))
    root_of = identity.people_of(conn, wanted)
    members = identity.members_of(conn, set(root_of.values()))
    held = identity.identifiers_by_profile(conn, [p for ids in members.values() for p in ids])
    identifiers = {
        person: sorted(
            {pair for profile in members.get(root, []) for pair in held.get(profile, [])}
        )
        for person, root in root_of.items()
    }
    allowed = _allowing(conn, workspace_id, identifiers, topic)
    return {
        person: Reach(records(identifiers.get(person, [])), person in allowed) for person in wanted
    }


def _allowing(
    conn: Connection, workspace_id: str, identifiers: dict[str, list[tuple[str, str]]],
    topic: str | None,
) -> set[str]:  # fmt: skip
    if topic is None:
        return set(identifiers)
    said: dict[tuple[str, str], str] = {}
    for channel, kind in (("email", "email"), ("sms", "phone")):
        addresses = sorted({v for pairs in identifiers.values() for t, v in pairs if t == kind})
        for (address, named), status in consent.statuses(
            conn, workspace_id, channel, addresses
        ).items():
            if named == topic:
                said[(kind, address)] = status
    allowing = set()
    for person, pairs in identifiers.items():
        statuses = {said.get(pair) for pair in pairs}
        if "subscribed" in statuses and "unsubscribed" not in statuses:
            allowing.add(person)
    return allowing
