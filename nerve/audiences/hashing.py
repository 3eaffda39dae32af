"""The hashed identifiers ad platforms match people by: SHA-256, lower-case hex, of the
normalised value — never the value itself.

Meta (Marketing API, "Hashing and Normalizing Data"): an email trimmed and lower-cased; a phone
as digits only, country code first, no "+" or leading zeros. Google Customer Match: the email
the same way; a phone in E.164, *with* its "+" (+4915112345678). So a record carries the phone
in both forms: `phone_sha256` (Meta's) and `phone_e164_sha256` (Google's).
"""

from __future__ import annotations

import hashlib
from itertools import zip_longest
from typing import TypedDict


class HashedMember(TypedDict):
    """One record of a person for a destination; a person with several emails or phones
    gives several records (each pairs one email with one phone where there are both)."""

    email_sha256: str | None
    phone_sha256: str | None
    phone_e164_sha256: str | None
    external_id: str | None  # SHA-256 of the shop's own customer id (user_id), if any


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def normal_email(email: str) -> str:
    return email.strip().lower()


def phone_digits(e164: str) -> str:
    """'+49 151 1234 5678' → '4915112345678': the digits, country code first (identity keeps
    phones in E.164 already; this drops the "+" and anything else that is no digit)."""
    return "".join(c for c in e164 if c.isdigit()).lstrip("0")


def records(identifiers: list[tuple[str, str]]) -> list[HashedMember]:
    """The records of one person from their (type, value) identifiers; empty when they have
    no email and no phone (nothing a platform could match)."""
    emails = sorted({normal_email(v) for t, v in identifiers if t == "email" and v.strip()})
    phones = sorted({phone_digits(v) for t, v in identifiers if t == "phone"} - {""})
    users = sorted(v for t, v in identifiers if t == "user_id")
    external = sha256(users[0]) if users else None
    return [
        HashedMember(
            email_sha256=sha256(email) if email else None,
            phone_sha256=sha256(phone) if phone else None,
            phone_e164_sha256=sha256("+" + phone) if phone else None,
            external_id=external,
        )
        for email, phone in zip_longest(emails, phones)
    ]
