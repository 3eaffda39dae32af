"""Personal data in consents: the proof records of the person's addresses and numbers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete

from nerve.consent import service
from nerve.consent.models import Consent
from nerve.identity.extract import normalize_email
from nerve.privacy.subject import PersonalData, Subject


def _addresses(subject: Subject) -> list[str]:
    """The person's email addresses and phone numbers (SMS opt-ins are kept under the E.164
    number, as identity keeps phones)."""
    emails = {a for v in subject.values("email") if (a := normalize_email(v)) is not None}
    # Push consents are kept under the identifiers the devices were registered with.
    pushes = {service.push_address(kind, value) for kind, value in subject.identifiers}
    return sorted(emails | set(subject.values("phone")) | pushes)


def _export(conn: Connection, subject: Subject) -> list[dict[str, Any]]:
    return service.records(conn, subject.workspace_id, _addresses(subject))


def _erase(conn: Connection, subject: Subject) -> None:
    # The erased addresses stay suppressed by their keyed hashes (erased_identifiers).
    conn.execute(
        delete(Consent).where(
            Consent.workspace_id == subject.workspace_id,
            Consent.address.in_(_addresses(subject)),
        )
    )


CONSENTS = PersonalData("consents", ("consents",), erase=_erase, export=_export)
