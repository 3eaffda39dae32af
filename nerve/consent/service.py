"""Consent records: signed up (pending until confirmed when double opt-in applies), confirmed,
withdrawn — each step kept as proof, nothing overwritten that a data-protection officer needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from nerve.audit import service as audit
from nerve.consent import topics
from nerve.consent.models import Consent
from nerve.db.base import utcnow
from nerve.errors import InvalidInput
from nerve.identity.extract import normalize_email, normalize_phone
from nerve.identity.rules import load_rules

STATUSES = ("pending", "subscribed", "unsubscribed")
RESEND_AFTER = timedelta(minutes=15)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@dataclass(frozen=True)
class SignUp:
    email: str
    topic: str
    via: str  # form, api, import
    double_opt_in: bool = True
    consent_text: str | None = None
    text_version: str | None = None
    source_url: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    channel: str = "email"
    phone: str | None = None  # the address of an SMS opt-in (channel sms), as written


def phone_address(conn: Connection, workspace_id: str, phone: str) -> str:
    """A number in E.164, as identity keeps phones (without +country: the workspace's
    region); InvalidInput when it is none."""
    normal = normalize_phone(phone, load_rules(conn, workspace_id).default_region)
    if normal is None:
        raise InvalidInput(f"not a valid phone number: {phone[:40]!r}", details={"path": "phone"})
    return normal


def push_address(identifier_type: str, identifier_value: str) -> str:
    """The address of a push consent: the identifier the device's subscription was registered
    under (`user_id:u-42`, `anonymous_id:…`; nerve/channels/push/service.py)."""
    return f"{identifier_type}:{identifier_value}"


def _address(conn: Connection, workspace_id: str, signup: SignUp) -> str:
    if signup.channel == "push":  # given at a device's permission prompt, as push_address
        return signup.email
    if signup.channel != "sms":
        return address_of(signup.email)
    if signup.double_opt_in:
        # Nerve sends no confirmation SMS: the shop records the opt-in it collected (the
        # ticked box, the keyword texted in) with its proof.
        raise InvalidInput(
            "an SMS opt-in is recorded as given, with its proof: send double_opt_in false",
            details={"path": "double_opt_in"},
        )
    return phone_address(conn, workspace_id, signup.phone or "")


def address_of(email: str) -> str:
    normal = normalize_email(email)
    if normal is None:
        raise InvalidInput(f"not an email address: {email[:100]!r}")
    return normal


def sign_up(conn: Connection, workspace_id: str, signup: SignUp) -> dict[str, Any]:
    """Record a sign-up; `needs_confirmation` says whether a confirmation mail must go out."""
    address = _address(conn, workspace_id, signup)
    topics.require(conn, workspace_id, signup.channel, signup.topic)
    key = _key(workspace_id, signup.channel, address, signup.topic)
    current = _get(conn, key)
    if current is not None and current["status"] == "subscribed":
        return current | {"needs_confirmation": False, "confirmation": "not_needed"}
    now = utcnow()
    sent_at = current and current["confirmation_sent_at"]
    if signup.double_opt_in and sent_at and now - _aware(sent_at) < RESEND_AFTER:
        # Someone posting a stranger's address again and again gets them one mail per quarter
        # hour, not a flood.
        return current | {"needs_confirmation": False, "confirmation": "recently_sent"}  # type: ignore[operator]
    status = "pending" if signup.double_opt_in else "subscribed"
    proof = {"status": status, "consent_text": signup.consent_text,
             "text_version": signup.text_version, "source_url": signup.source_url,
             "ip": signup.ip, "user_agent": signup.user_agent, "via": signup.via,
             "signed_up_at": now, "updated_at": now, "confirmed_at": None, "confirmed_ip": None,
             "confirmed_user_agent": None, "confirmation_sent_at": None,
             "confirmation_message_id": None, "withdrawn_at": None,
             "withdrawn_via": None}  # fmt: skip
    if current is None:
        conn.execute(insert(Consent).values(**key, **proof))
    else:  # pending again, or a new consent after a withdrawal: the new sign-up is the proof
        conn.execute(update(Consent).where(*_where(key)).values(**proof))
    audit.record(conn, workspace_id, signup.via, f"consent.{status}", signup.topic)
    return (_get(conn, key) or {}) | {"needs_confirmation": status == "pending"}


def confirmation_sent(
    conn: Connection, workspace_id: str, address: str, topic: str, message_id: str
) -> None:
    key = _key(workspace_id, "email", address, topic)
    conn.execute(
        update(Consent)
        .where(*_where(key))
        .values(
            confirmation_sent_at=utcnow(), confirmation_message_id=message_id, updated_at=utcnow()
        )
    )


def confirm(
    conn: Connection,
    workspace_id: str,
    address: str,
    topic: str,
    ip: str | None,
    user_agent: str | None,
) -> dict[str, Any] | None:
    """The click in the confirmation mail: pending becomes subscribed (once)."""
    key = _key(workspace_id, "email", address, topic)
    now = utcnow()
    conn.execute(
        update(Consent).where(*_where(key), Consent.status == "pending").values(
            status="subscribed", confirmed_at=now, confirmed_ip=ip,
            confirmed_user_agent=(user_agent or "")[:1000] or None, updated_at=now,
        )
    )  # fmt: skip
    return _get(conn, key)


def withdraw(
    conn: Connection, workspace_id: str, channel: str, address: str, topic: str, via: str
) -> None:
    key = _key(workspace_id, channel, address, topic)
    now = utcnow()
    conn.execute(
        update(Consent).where(*_where(key), Consent.status != "unsubscribed").values(
            status="unsubscribed", withdrawn_at=now, withdrawn_via=via, updated_at=now
        )
    )  # fmt: skip


def withdraw_all(
    conn: Connection, workspace_id: str, channel: str, address: str, via: str
) -> list[str]:
    """Withdraw every consent of an address on a channel at once (an SMS STOP); the topics
    that were withdrawn now."""
    where = [Consent.workspace_id == workspace_id, Consent.channel == channel,
             Consent.address == address, Consent.status != "unsubscribed"]  # fmt: skip
    withdrawn = sorted(conn.scalars(select(Consent.topic).where(*where)))
    if withdrawn:
        now = utcnow()
        conn.execute(update(Consent).where(*where).values(
            status="unsubscribed", withdrawn_at=now, withdrawn_via=via, updated_at=now,
        ))  # fmt: skip
    return withdrawn


def record(
    conn: Connection, workspace_id: str, channel: str, address: str, topic: str
) -> dict[str, Any] | None:
    return _get(conn, _key(workspace_id, channel, address, topic))


def status(
    conn: Connection, workspace_id: str, channel: str, address: str, topic: str
) -> str | None:
    found = record(conn, workspace_id, channel, address, topic)
    return None if found is None else str(found["status"])


def statuses(
    conn: Connection, workspace_id: str, channel: str, addresses: list[str]
) -> dict[tuple[str, str], str]:
    """(address, topic) → status, for these addresses, in one query."""
    if not addresses:
        return {}
    rows = conn.execute(
        select(Consent.address, Consent.topic, Consent.status).where(
            Consent.workspace_id == workspace_id, Consent.channel == channel,
            Consent.address.in_(addresses),
        )
    )  # fmt: skip
    return {(address, topic): status for address, topic, status in rows}


def records(conn: Connection, workspace_id: str, addresses: list[str]) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(Consent)
        .where(Consent.workspace_id == workspace_id, Consent.address.in_(addresses))
        .order_by(Consent.address, Consent.channel, Consent.topic)
    )
    return [dict(row._mapping) for row in rows]


def _key(workspace_id: str, channel: str, address: str, topic: str) -> dict[str, str]:
    return {"workspace_id": workspace_id, "channel": channel, "address": address, "topic": topic}


def _where(key: dict[str, str]) -> list[Any]:
    return [getattr(Consent, name) == value for name, value in key.items()]


def _get(conn: Connection, key: dict[str, str]) -> dict[str, Any] | None:
    row = conn.execute(select(Consent).where(*_where(key))).first()
    return None if row is None else dict(row._mapping)
