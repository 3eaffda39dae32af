"""Push subscriptions: registered by a head under the person's userId or anonymousId, found for
a send through every identifier the person has now (so a subscription made before sign-in
reaches them after it), removed when the push service says they are gone.

Push consent is kept per identifier a subscription was registered under, as the consent
address `user_id:…` or `anonymous_id:…`: what the person agreed to at the permission prompt
on that device. A marketing push goes to the subscriptions whose identifier has consent to its
topic."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Connection, delete, func, select, tuple_, update

from nerve.channels.push.models import PushSubscription
from nerve.channels.push.providers import Target
from nerve.channels.push.schemas import NewPushSubscription
from nerve.channels.push.vapid import b64url_decode
from nerve.consent import service as consent
from nerve.consent import topics as consent_topics
from nerve.db.base import new_id
from nerve.db.dialect import dialect_of
from nerve.errors import Conflict, InvalidInput
from nerve.outbound import http
from nerve.outbound.policy import OutboundPolicy, OutboundRefused
from nerve.privacy import service as privacy

# An FCM registration token: URL-safe characters and colons, some 150-250 of them.
_FCM_TOKEN = re.compile(r"[A-Za-z0-9_:.\-]{16,2000}")


@dataclass(frozen=True)
class Proof:
    """Where and how the person agreed to the topics: the request's IP and browser, the
    prompt's words."""

    ip: str | None
    user_agent: str | None
    consent_text: str | None = None
    text_version: str | None = None
    source_url: str | None = None


def address(identifier_type: str, identifier_value: str) -> str:
    """The consent address of a subscription's owner: `user_id:u-42`, `anonymous_id:…`."""
    return consent.push_address(identifier_type, identifier_value)


def endpoint_hash(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode()).hexdigest()


def register(
    conn: Connection, workspace_id: str, new: NewPushSubscription, proof: Proof,
    outbound: OutboundPolicy,
) -> dict[str, Any]:  # fmt: skip
    """Keep the subscription (or update the one with this endpoint: the browser subscribed
    again, the person signed in) and record consent to the topics given; InvalidInput, with
    the field, for anything that cannot be used."""
    endpoint, keys = _checked_endpoint(new, outbound)
    kind, value = _owner(new)
    if kind == "user_id" and privacy.is_erased(conn, workspace_id, kind, value):
        # As at ingest: an erased person is not made anew by their browser (docs/privacy.md).
        raise Conflict("this user id belongs to an erased person: nothing is kept for them "
                       "until they sign up again", details={"path": "userId"})  # fmt: skip
    topics = _checked_topics(conn, workspace_id, new)
    digest = endpoint_hash(endpoint)
    values = {"kind": new.kind, "endpoint": endpoint, "keys": keys, "identifier_type": kind,
              "identifier_value": value, "user_agent": proof.user_agent}  # fmt: skip
    where = (PushSubscription.workspace_id == workspace_id,
             PushSubscription.endpoint_hash == digest)  # fmt: skip
    # A browser registering the same subscription twice at once: one insert wins, the other
    # finds its row and updates it.
    fresh = new_id("psub")
    insert = dialect_of(conn).insert_ignoring_duplicates(
        PushSubscription.__table__, ["workspace_id", "endpoint_hash"]
    )
    conn.execute(insert, [{"id": fresh, "workspace_id": workspace_id, "endpoint_hash": digest,
                           **values}])  # fmt: skip
    subscription_id = conn.scalar(select(PushSubscription.id).where(*where))
    if subscription_id != fresh:
        conn.execute(update(PushSubscription).where(*where).values(**values))
    owner = address(kind, value)
    for topic in topics:
        consent.sign_up(conn, workspace_id, consent.SignUp(
            email=owner, topic=topic, via="push_prompt", double_opt_in=False, channel="push",
            consent_text=proof.consent_text, text_version=proof.text_version,
            source_url=proof.source_url, ip=proof.ip, user_agent=proof.user_agent,
        ))  # fmt: skip
    return {"id": subscription_id, "kind": new.kind, "identifier": owner, "topics": topics,
            "created": subscription_id == fresh}  # fmt: skip


def unregister(conn: Connection, workspace_id: str, endpoint: str) -> tuple[bool, list[str]]:
    """Remove the subscription with this endpoint (or FCM token): whether there was one, and
    the push topics withdrawn because its owner has no subscription left."""
    where = (PushSubscription.workspace_id == workspace_id,
             PushSubscription.endpoint_hash == endpoint_hash(endpoint))  # fmt: skip
    row = conn.execute(
        select(PushSubscription.identifier_type, PushSubscription.identifier_value).where(*where)
    ).first()
    if row is None:
        return False, []
    conn.execute(delete(PushSubscription).where(*where))
    remaining = conn.scalar(
        select(func.count()).select_from(PushSubscription).where(
            PushSubscription.workspace_id == workspace_id,
            PushSubscription.identifier_type == row.identifier_type,
            PushSubscription.identifier_value == row.identifier_value,
        )
    )  # fmt: skip
    if remaining:
        return True, []
    owner = address(row.identifier_type, row.identifier_value)
    return True, consent.withdraw_all(conn, workspace_id, "push", owner, "push_unsubscribe")


def of_person(
    conn: Connection, workspace_id: str, identifiers: list[tuple[str, str]]
) -> list[Target]:
    """Every subscription registered under any of these identifiers (a person's, now)."""
    if not identifiers:
        return []
    rows = conn.execute(
        select(PushSubscription.id, PushSubscription.kind, PushSubscription.endpoint,
               PushSubscription.keys, PushSubscription.identifier_type,
               PushSubscription.identifier_value)
        .where(PushSubscription.workspace_id == workspace_id,
               tuple_(PushSubscription.identifier_type,
                      PushSubscription.identifier_value).in_(identifiers))
        .order_by(PushSubscription.created_at, PushSubscription.id)
    )  # fmt: skip
    return [Target(r.id, r.kind, r.endpoint, r.keys, address(r.identifier_type,
                                                              r.identifier_value))
            for r in rows]  # fmt: skip


def settle(
    conn: Connection, workspace_id: str, gone: list[str], delivered: list[str], at: datetime
) -> None:
    """Remove the subscriptions their push service said are gone; stamp the reached ones."""
    scope = PushSubscription.workspace_id == workspace_id
    if gone:
        conn.execute(delete(PushSubscription).where(scope, PushSubscription.id.in_(gone)))
    if delivered:
        conn.execute(update(PushSubscription).where(scope, PushSubscription.id.in_(delivered))
                     .values(last_sent_at=at))  # fmt: skip


def _owner(new: NewPushSubscription) -> tuple[str, str]:
    if new.userId:
        return "user_id", new.userId
    if new.anonymousId:
        return "anonymous_id", new.anonymousId
    raise InvalidInput("name whose subscription it is: userId or anonymousId",
                       details={"path": "userId"})  # fmt: skip


def _checked_endpoint(
    new: NewPushSubscription, outbound: OutboundPolicy
) -> tuple[str, dict[str, str] | None]:
    if new.kind == "fcm":
        if new.token is None or new.subscription is not None:
            raise InvalidInput("an FCM subscription gives the app's registration `token` "
                               "(and no `subscription`)", details={"path": "token"})  # fmt: skip
        if not _FCM_TOKEN.fullmatch(new.token):
            raise InvalidInput("not an FCM registration token", details={"path": "token"})
        return new.token, None
    if new.subscription is None or new.token is not None:
        raise InvalidInput("a Web Push subscription gives the browser's `subscription` "
                           "(PushSubscription.toJSON())",
                           details={"path": "subscription"})  # fmt: skip
    endpoint = new.subscription.endpoint
    try:
        url = http.check_url(outbound, endpoint)
    except OutboundRefused as exc:
        raise InvalidInput(f"the endpoint {exc}", details={"path": "subscription.endpoint"}) \
            from None  # fmt: skip
    if url.scheme != "https":  # RFC 8030 §8: push services are reached over TLS only
        raise InvalidInput("the endpoint must be an https URL",
                           details={"path": "subscription.endpoint"})  # fmt: skip
    return endpoint, _checked_keys(new.subscription.keys.p256dh, new.subscription.keys.auth)


def _checked_keys(p256dh: str, auth: str) -> dict[str, str]:
    """RFC 8291 §3: a P-256 public key as an uncompressed point (65 octets) and a 16-octet
    authentication secret, both base64url."""
    try:
        point = b64url_decode(p256dh)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        valid = len(point) == 65
    except ValueError:
        valid = False
    if not valid:
        raise InvalidInput("keys.p256dh is not a P-256 public key (65 octets, base64url)",
                           details={"path": "subscription.keys.p256dh"})  # fmt: skip
    try:
        secret = b64url_decode(auth)
    except ValueError:
        secret = b""
    if len(secret) != 16:
        raise InvalidInput("keys.auth is not a 16-octet secret (base64url)",
                           details={"path": "subscription.keys.auth"})  # fmt: skip
    return {"p256dh": p256dh.strip(), "auth": auth.strip()}


def _checked_topics(conn: Connection, workspace_id: str, new: NewPushSubscription) -> list[str]:
    topics = sorted(set(new.topics))
    if topics and not (new.consent_text or "").strip():
        raise InvalidInput("topics agreed to need the prompt's words as `consent_text`, the "
                           "proof of what the person agreed to",
                           details={"path": "consent_text"})  # fmt: skip
    for topic in topics:
        reason = consent_topics.problem(conn, workspace_id, "push", topic)
        if reason is not None:
            raise InvalidInput(reason, details={"path": "topics"})
    return topics
