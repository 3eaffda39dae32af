"""Replies to the shop's SMS, as the provider posts them (Twilio's webhook: a form with From,
To, Body, MessageSid, signed in X-Twilio-Signature): STOP and its synonyms unsubscribe the
number at once, START lifts the STOP.

STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT (any case, spaces around, a trailing `.` or `!`)
withdraw every SMS consent of the number (proof: `withdrawn_at`, `withdrawn_via: sms_stop`),
put "SMS Unsubscribed" on the timeline of the person with that number, and suppress it on SMS
(`unsubscribed`: marketing SMS are skipped, order and account messages still go). START and
UNSTOP lift that suppression but restore no consent: a marketing SMS goes again only once the
shop records a new opt-in with its proof (POST /api/v1/consent). Other replies are not kept.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from prometheus_client import Counter
from sqlalchemy import Connection, delete

from nerve.audit import service as audit
from nerve.channels import engagement
from nerve.channels.models import Suppression
from nerve.channels.sms import numbers
from nerve.consent import service as consent
from nerve.db.base import utcnow
from nerve.db.dialect import dialect_of
from nerve.errors import NerveError
from nerve.identity import service as identity
from nerve.identity.extract import normalize_phone
from nerve.identity.rules import MergeRules
from nerve.privacy import service as privacy
from nerve.workspaces import service as workspaces

# CTIA's and Twilio's standard opt-out and opt-in keywords.
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP"})
WITHDRAWN_VIA = "sms_stop"
SOURCE = "Nerve sms"  # the event source of SMS events, as the SMS Delivery names it
# The answer: Twilio sends its own STOP/START confirmation, so Nerve adds no reply.
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

Keyword = Literal["stop", "start", "other"]
REPLIES = Counter(
    "nerve_sms_replies_total", "SMS replies received, by what they did: `stop`, `start`, `other`",
    ["keyword"],
)  # fmt: skip


def keyword_of(body: str) -> Keyword:
    word = body.strip().rstrip(".!").strip().upper()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return "other"


def signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Twilio's request signature: HMAC-SHA1, keyed with the auth token, of the URL followed
    by each POST parameter's name and value, sorted by name (then value), in base64."""
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def verifies(
    auth_token: str, urls: Iterable[str], params: list[tuple[str, str]], given: str
) -> bool:
    """Whether `given` signs the request for one of the URLs it may have been posted to (as
    Twilio's own validators do, each with and without the default port)."""
    for url in urls:
        for variant in _port_variants(url):
            if hmac.compare_digest(signature(auth_token, variant, params), given):
                return True
    return False


def _port_variants(url: str) -> list[str]:
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    if default is None or not host:
        return [url]
    host = f"[{host}]" if ":" in host else host
    with_port = parts._replace(netloc=f"{host}:{parts.port or default}")
    without = parts._replace(netloc=host) if parts.port in (None, default) else parts
    return list(dict.fromkeys([url, urlunsplit(with_port), urlunsplit(without)]))


def receive(conn: Connection, workspace_id: str, params: dict[str, str]) -> Keyword:
    """Act on one reply (signature checked): what it was."""
    number = normalize_phone(params.get("From", ""), numbers.region_of(conn, workspace_id))
    keyword = keyword_of(params.get("Body", ""))
    REPLIES.labels(keyword).inc()
    if number is None or keyword == "other":
        return keyword
    sid = params.get("MessageSid", "")[:64]
    if keyword == "stop":
        withdrawn = consent.withdraw_all(conn, workspace_id, "sms", number, WITHDRAWN_VIA)
        numbers.suppress(conn, workspace_id, number, "unsubscribed", f"STOP reply {sid}")
        audit.record(conn, workspace_id, WITHDRAWN_VIA, "consent.withdrawn",
                     f"sms: {', '.join(withdrawn) or 'no topic'}")  # fmt: skip
        _on_timeline(conn, workspace_id, number, {"topics": withdrawn, "message_sid": sid})
    else:
        conn.execute(delete(Suppression).where(
            Suppression.workspace_id == workspace_id, Suppression.channel == numbers.CHANNEL,
            Suppression.address_hash == privacy.identifier_hash(conn, workspace_id, number),
            Suppression.reason == "unsubscribed",
        ))  # fmt: skip
        audit.record(conn, workspace_id, "sms_start", "suppression.removed", f"sms {sid}")
    return keyword


def _on_timeline(
    conn: Connection, workspace_id: str, number: str, properties: dict[str, Any]
) -> None:
    """Put "SMS Unsubscribed" on the timeline of the person with this number, if any."""
    try:
        person = identity.lookup(conn, workspace_id, "phone", number, MergeRules())
    except NerveError:
        return
    key = engagement.person_key(identity.identifiers_of(conn, identity.members(conn, person)))
    if key is None:
        return
    source = workspaces.own_source(conn, workspace_id, SOURCE)
    message_key = f"SMS Unsubscribed:{properties['message_sid'] or secrets.token_hex(8)}"
    row = engagement.event_row(workspace_id, source, key, "SMS Unsubscribed", properties,
                               utcnow(), message_key)  # fmt: skip
    dialect_of(conn).insert_events(conn, [row])
