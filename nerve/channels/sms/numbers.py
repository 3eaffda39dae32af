"""Phone numbers for SMS: the person's E.164 `phone` identifier (identity keeps phones in
E.164, nerve/identity/extract.py), and the suppression list's entries for numbers."""

from __future__ import annotations

from sqlalchemy import Connection

from nerve.channels.models import Suppression
from nerve.db.dialect import dialect_of
from nerve.errors import InvalidInput
from nerve.identity.extract import normalize_phone
from nerve.identity.rules import load_rules
from nerve.privacy import service as privacy
from nerve.profiles.schemas import Person

CHANNEL = "sms"
INTERNATIONAL = "ZZ"  # phonenumbers' "no region": only numbers written with +country parse


def region_of(conn: Connection, workspace_id: str) -> str:
    """Where a number written without +country is taken to be (the workspace's identity
    rules, DE by default)."""
    return load_rules(conn, workspace_id).default_region


def number_of(conn: Connection, workspace_id: str, person: Person) -> tuple[str | None, str | None]:
    """The person's number in E.164 and None, or None and why there is none."""
    phones = [i.value for i in person.identifiers if i.type == "phone"]
    for raw in phones:  # E.164 as identity keeps them: no region needed
        if (number := normalize_phone(raw, INTERNATIONAL)) is not None:
            return number, None
    trait = person.traits.get("phone")
    written = [*phones, *([trait] if trait not in (None, "") else [])]
    if not written:
        return None, "the person has no phone number"
    region = region_of(conn, workspace_id)
    for raw in written:
        if (number := normalize_phone(raw, region)) is not None:
            return number, None
    # The value itself stays out of the reason: the log keeps it beyond an erasure.
    return None, "the person's phone number is not a valid number"


def normal(conn: Connection, workspace_id: str, raw: str) -> str:
    """A number as Nerve keeps it (E.164); InvalidInput when it is none."""
    number = normalize_phone(raw, region_of(conn, workspace_id))
    if number is None:
        raise InvalidInput(f"not a valid phone number: {raw[:40]!r}", details={"path": "phone"})
    return number


def suppress(conn: Connection, workspace_id: str, number: str, reason: str, detail: str) -> None:
    """Keep SMS from this number (E.164) for `reason`: `unsubscribed` holds marketing back,
    `hard_bounce` everything."""
    row = {"workspace_id": workspace_id, "channel": CHANNEL, "reason": reason,
           "address_hash": privacy.identifier_hash(conn, workspace_id, number),
           "detail": detail[:1000]}  # fmt: skip
    insert = dialect_of(conn).insert_ignoring_duplicates(
        Suppression.__table__, ["workspace_id", "channel", "address_hash", "reason"]
    )
    conn.execute(insert, [row])
