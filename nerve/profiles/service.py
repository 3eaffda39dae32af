"""Profiles as the API and other capabilities use them: lookup, a person's timeline, and traits
set by flows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from nerve.events import service as events
from nerve.identity import service as identity
from nerve.identity.rules import load_rules
from nerve.profiles import traits
from nerve.profiles.schemas import Person
from nerve.profiles.view import person


def lookup(conn: Connection, workspace_id: str, raw_identifier: str) -> Person:
    """The person holding an identifier written TYPE:VALUE (email:anna@example.com)."""
    rules = load_rules(conn, workspace_id)
    kind, value = identity.parse_identifier(conn, raw_identifier, rules)
    return person(
        conn, workspace_id, identity.lookup(conn, workspace_id, kind, value, rules), rules
    )


def get(conn: Connection, workspace_id: str, profile_id: str) -> Person:
    """The person any profile id (also a merged-away one) belongs to."""
    return person(conn, workspace_id, identity.person_of(conn, workspace_id, profile_id))


def timeline(
    conn: Connection,
    workspace_id: str,
    profile_id: str,
    limit: int,
    after: tuple[datetime, int] | None,
) -> tuple[list[dict[str, Any]], tuple[datetime, int] | None]:
    """Events of every head, of every profile of the person, in event-time order."""
    person_id = identity.person_of(conn, workspace_id, profile_id)
    return events.of_profiles(conn, identity.members(conn, person_id), limit, after)


def set_traits(
    conn: Connection, workspace_id: str, profile_id: str, values: dict[str, Any], at: datetime
) -> None:
    """Traits set by Nerve itself (a flow's update_profile, add_tag) rather than by an event."""
    observations = [
        traits.Observation(profile_id, str(name)[:255], value, at, None)
        for name, value in values.items()
    ]
    traits.record(conn, workspace_id, observations, [])
