"""Identifiers are hashed as Meta and Google match them: SHA-256 hex of the trimmed,
lower-cased email; of the phone's digits (Meta) and of its E.164 form with "+" (Google)."""

from __future__ import annotations

import hashlib

from nerve.audiences.hashing import phone_digits, records


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_an_email_is_trimmed_and_lower_cased_before_hashing() -> None:
    [record] = records([("email", " Anna@Example.COM ")])
    assert record["email_sha256"] == _sha("anna@example.com")
    assert record["phone_sha256"] is None and record["external_id"] is None


def test_a_phone_is_hashed_as_digits_and_as_e164() -> None:
    assert phone_digits("+49 151 1234-5678") == "4915112345678"
    [record] = records([("phone", "+4915112345678"), ("user_id", "u-42")])
    assert record["phone_sha256"] == _sha("4915112345678")
    assert record["phone_e164_sha256"] == _sha("+4915112345678")
    assert record["email_sha256"] is None and record["external_id"] == _sha("u-42")


def test_several_emails_give_several_records_and_none_gives_nothing() -> None:
    found = records([("email", "b@example.com"), ("email", "a@example.com"),
                     ("phone", "+4915112345678")])  # fmt: skip
    assert [r["email_sha256"] for r in found] == [_sha("a@example.com"), _sha("b@example.com")]
    assert [r["phone_sha256"] is not None for r in found] == [True, False]
    assert records([("anonymous_id", "device-1"), ("user_id", "u-1")]) == []
