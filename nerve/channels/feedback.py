"""Reports about sent mail — delivery status notifications (DSN, RFC 3464: a message bounced,
for good or for now) and abuse reports (ARF, RFC 5965: its recipient marked it as spam) — read
from the mails that carry them or sent by a relay as JSON, and what each does: the address
suppressed (nerve/channels/suppressions.py) and its message marked in the message log.
"""

from __future__ import annotations

import base64
import contextlib
import email
import email.policy
import quopri
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr
from typing import Any, Literal

import structlog
from sqlalchemy import Connection, select, update

from nerve.channels import engagement, suppressions
from nerve.channels.models import Message as LoggedMessage
from nerve.db.base import utcnow
from nerve.db.dialect import dialect_of
from nerve.errors import InvalidInput
from nerve.profiles.view import person_of_profile
from nerve.workspaces import service as workspaces

log = structlog.get_logger(__name__)

MAX_BYTES = 10 * 1024 * 1024  # a DSN carries the returned message: a large one is rare
_STATUS_PARTS = ("message/delivery-status", "message/global-delivery-status")
_ABUSE_PART = "message/feedback-report"
_ORIGINAL_PARTS = ("message/rfc822", "message/global", "text/rfc822-headers",
                   "message/global-headers")  # fmt: skip
# RFC 3464 §2.3.3: these actions report a delivery (or a hand-over), not a failure.
_DELIVERED = ("delivered", "relayed", "expanded")
# RFC 5965 §7.3: `abuse` is "this is spam"; `fraud` a phishing report. `not-spam`, `virus`,
# `auth-failure` (RFC 6591) and `other` say nothing about the recipient's wishes.
_COMPLAINTS = ("abuse", "fraud")
# A complaint on the person's timeline, named as in Segment's Email spec.
MARKED_AS_SPAM = "Email Marked as Spam"


@dataclass(frozen=True)
class Feedback:
    """A bounce (`permanent`: the address does not exist or refuses for good; otherwise a
    mailbox full or a server down: retried, never suppressed) or a complaint, about the message
    with `message_id` (the Message-ID Nerve sent with, when the report returns it) to `email`
    (None when the report hides it: the message log knows it)."""

    type: Literal["bounce", "complaint"]
    email: str | None
    permanent: bool = True
    message_id: str | None = None
    detail: str = ""


# What a report did: listed the address or marked its message (`suppressed`), nothing more than
# the same report did before (`already_applied`), only logged (a transient bounce), or
# nothing (`unknown_recipient`: no address in the report, no message it names).
Outcome = Literal["suppressed", "already_applied", "logged", "unknown_recipient"]


def parse(raw: bytes) -> list[Feedback]:
    """The reports in one mail, as an MTA delivers it or a relay forwards it (the report may be
    attached to another mail). An empty list: a DSN of successful deliveries, or an abuse
    report of a kind that is not a complaint. InvalidInput: neither a DSN nor an ARF report."""
    if len(raw) > MAX_BYTES:
        raise InvalidInput(f"a report mail is at most {MAX_BYTES:,} bytes")
    try:
        # NUL cannot be stored (PostgreSQL text); a returned message's binary part may hold it.
        message = email.message_from_bytes(raw.replace(b"\x00", b""), policy=email.policy.default)
        parts = list(message.walk())
        for index, part in enumerate(parts):
            kind = part.get_content_type()
            if kind in _STATUS_PARTS:
                return _bounces(part, _original_message_id(parts[index + 1 :]))
            if kind == _ABUSE_PART:
                return _complaints(part, parts[index + 1 :])
            if kind == "message/rfc822" and (attached := _encoded(part)):
                # A report forwarded as an attachment, base64-encoded: RFC 2046 forbids it for
                # message/rfc822, so the email package does not decode it; mail clients do it.
                with contextlib.suppress(InvalidInput):
                    return parse(attached)
    except InvalidInput:
        raise
    except Exception as exc:  # the email package raises assorted errors on malformed mail
        raise InvalidInput(f"the mail cannot be read: {type(exc).__name__}: {exc}") from None
    raise InvalidInput(
        "not a delivery status notification (RFC 3464: multipart/report with "
        "message/delivery-status) or an abuse report (RFC 5965: message/feedback-report)"
    )


@dataclass(frozen=True)
class Applied:
    """What one report did: `message` is the message log row it concerned, when found."""

    feedback: Feedback
    outcome: Outcome
    message: str | None = None
    workspace_id: str | None = None


def apply(conn: Connection, workspace_id: str, feedback: Feedback) -> Applied:
    """Act on one report in a workspace: a permanent bounce suppresses the address
    (`hard_bounce`) and marks its message `bounced`; a complaint suppresses it (`complaint`)
    and marks the message `complained`; a transient bounce is only logged. The same report
    again changes nothing more (`already_applied`)."""
    row = _message(conn, workspace_id, feedback.message_id)
    address = feedback.email or (row.recipient if row is not None else None)
    normal = suppressions.normal_address(address) if address else None
    message = row.id if row is not None else None
    if normal is None:
        return Applied(feedback, "unknown_recipient", message, workspace_id)
    if row is not None and row.recipient and suppressions.normal_address(row.recipient) != normal:
        message = None  # the report is about another recipient of that Message-ID
    detail = suppressions.redacted(feedback.detail, normal, address or normal) or feedback.type
    if feedback.type == "bounce" and not feedback.permanent:
        log.info("bounce_transient", workspace_id=workspace_id, message=message, detail=detail)
        return Applied(feedback, "logged", message, workspace_id)
    reason = "hard_bounce" if feedback.type == "bounce" else "complaint"
    added = suppressions.suppress(conn, workspace_id, normal, reason, detail)
    marked = message is not None and _mark(conn, workspace_id, message, feedback.type, detail)
    log.info("feedback_applied", workspace_id=workspace_id, reason=reason, message=message,
             added=added, marked=marked)  # fmt: skip
    return Applied(feedback, "suppressed" if added or marked else "already_applied", message,
                   workspace_id)  # fmt: skip


def apply_anywhere(
    conn: Connection, feedback: Feedback, fallback_workspace_id: str
) -> list[Applied]:
    """Act on a report from the bounce mailbox, which names no workspace: in the workspace of
    the message its Message-ID names (each, when workspaces share a Message-ID), else in
    `fallback_workspace_id`."""
    workspace_ids: list[str] = []
    message_id = message_id_of(feedback.message_id)
    if message_id is not None:
        found = conn.execute(
            select(LoggedMessage.workspace_id, LoggedMessage.recipient).where(
                LoggedMessage.message_id == message_id
            )
        ).all()
        wanted = suppressions.normal_address(feedback.email)
        workspace_ids = sorted(
            {
                row.workspace_id
                for row in found
                if wanted in (None, suppressions.normal_address(row.recipient))
            }
        )
    return [apply(conn, workspace_id, feedback)
            for workspace_id in workspace_ids or [fallback_workspace_id]]  # fmt: skip


def _message(conn: Connection, workspace_id: str, message_id: str | None) -> Any:
    normal = message_id_of(message_id)
    if normal is None:
        return None
    return conn.execute(
        select(LoggedMessage.id, LoggedMessage.recipient, LoggedMessage.status).where(
            LoggedMessage.workspace_id == workspace_id, LoggedMessage.message_id == normal
        )
    ).first()


# The message log's states a report moves a message from: a bounce only a message that went
# out (never one already read or complained about); a complaint anything that was delivered.
_BOUNCES_FROM = ("queued", "sent")
_COMPLAINT_NOT_FROM = ("complained", "skipped", "failed")


def _mark(conn: Connection, workspace_id: str, message: str, kind: str, detail: str) -> bool:
    if kind == "bounce":
        status, where = "bounced", LoggedMessage.status.in_(_BOUNCES_FROM)
    else:
        status, where = "complained", LoggedMessage.status.not_in(_COMPLAINT_NOT_FROM)
    done = conn.execute(
        update(LoggedMessage)
        .where(LoggedMessage.id == message, where)
        .values(status=status, reason=detail[:1000], updated_at=utcnow())
    )
    if not done.rowcount:
        return False
    _on_timeline(conn, workspace_id, message, engagement.BOUNCED if kind == "bounce"
                 else MARKED_AS_SPAM, detail)  # fmt: skip
    return True


def _on_timeline(conn: Connection, workspace_id: str, message: str, name: str, detail: str) -> None:
    """The report as an event on the person's timeline, as a send's own bounce is (flows may
    wait for it)."""
    columns = ("id", "profile_id", "message_id", "kind", "topic", "template", "flow", "node",
               "subject")  # fmt: skip
    row = conn.execute(
        select(*(getattr(LoggedMessage, c) for c in columns)).where(LoggedMessage.id == message)
    ).one()
    person = person_of_profile(conn, workspace_id, row.profile_id) if row.profile_id else None
    key = engagement.person_key([(i.type, i.value) for i in person.identifiers]) if person \
        else None  # fmt: skip
    if key is None:  # sent to an address only, or the person was erased: no timeline
        return
    source = workspaces.own_source(conn, workspace_id, engagement.SOURCE_NAME)
    properties = {**engagement.properties_of(dict(row._mapping)), "detail": detail}
    event = engagement.event_row(workspace_id, source, key, name, properties, utcnow(),
                                 f"{name}:{message}")  # fmt: skip
    dialect_of(conn).insert_events(conn, [event])


def _bounces(part: Message, message_id: str | None) -> list[Feedback]:
    found = []
    # The first block is about the message (§2.2); each other one names its recipient.
    recipients = [block for block in _field_blocks(part)[1:] if _text(block, "Final-Recipient")]
    if not recipients:
        raise InvalidInput("the delivery status notification names no recipient")
    for fields in recipients:
        action = _text(fields, "Action").lower()
        status = _text(fields, "Status").split(" ")[0]
        if action in _DELIVERED:
            continue
        address = _typed_address(_text(fields, "Original-Recipient")) or _typed_address(
            _text(fields, "Final-Recipient")
        )
        # `failed` with a 4.x.x status: given up after retrying a full mailbox or a server that
        # was down — the address may well be fine. Only a 5.x.x failure is permanent (§2.3.4).
        permanent = status.startswith("5") and action in ("failed", "")
        diagnostic = _text(fields, "Diagnostic-Code")
        detail = " ".join(filter(None, [status, action, diagnostic]))
        found.append(Feedback("bounce", address, permanent, message_id, detail[:1000]))
    return found


def _complaints(part: Message, rest: Sequence[Message]) -> list[Feedback]:
    [fields] = _field_blocks(part)[:1] or [Message()]
    kind = _text(fields, "Feedback-Type").lower()
    if kind not in _COMPLAINTS:
        return []
    reporter = _text(fields, "Reporting-MTA") or _text(fields, "User-Agent")
    detail = f"{kind} report" + (f" ({reporter})" if reporter else "")
    message_id = _original_message_id(rest)
    # Original-Rcpt-To (RFC 5965 §3.5) may repeat. Many mailbox providers leave it out and
    # redact the returned message's To: then its Message-ID finds the recipient in the log.
    addresses: list[str | None] = [
        a for _, a in getaddresses(fields.get_all("Original-Rcpt-To", [])) if "@" in a
    ]
    return [Feedback("complaint", address, True, message_id, detail)
            for address in addresses or [None]]  # fmt: skip


def _encoded(part: Message) -> bytes:
    """The message in a base64 or quoted-printable message/rfc822 part (b"": none)."""
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    payload = part.get_payload()
    if encoding not in ("base64", "quoted-printable") or not isinstance(payload, list):
        return b""
    inner = payload[0].get_payload() if payload and isinstance(payload[0], Message) else ""
    if not isinstance(inner, str):
        return b""
    if encoding == "base64":
        return base64.b64decode(inner, validate=False)
    return quopri.decodestring(inner.encode("ascii", "replace"))


def _field_blocks(part: Message) -> list[Message]:
    """The groups of fields of a report part. The email package splits message/delivery-status
    into them; other message/* types (the RFC 6533 global DSN) arrive as one message whose
    body holds the groups after the first."""
    payload = part.get_payload()
    if not isinstance(payload, list):
        payload = [HeaderParser().parsestr(str(payload))]
    blocks = [block for block in payload if isinstance(block, Message)]
    if len(blocks) == 1 and part.get_content_type() != "message/delivery-status":
        body = blocks[0].get_payload()
        if isinstance(body, str) and body.strip():
            chunks = re.split(r"\r?\n\s*\r?\n", body.strip())
            blocks += [HeaderParser().parsestr(chunk) for chunk in chunks if chunk.strip()]
    return blocks


def _original_headers(parts: Sequence[Message]) -> Message | None:
    for part in parts:
        kind = part.get_content_type()
        if kind not in _ORIGINAL_PARTS:
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            return payload[0]
        if isinstance(payload, str):  # text/rfc822-headers: the returned headers as text
            raw = part.get_payload(decode=True)
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else payload
            return HeaderParser().parsestr(text)
    return None


def _original_message_id(parts: Sequence[Message]) -> str | None:
    original = _original_headers(parts)
    return message_id_of(_text(original, "Message-ID")) if original is not None else None


def message_id_of(value: str | None) -> str | None:
    """A Message-ID as the message log keeps it: `<id@domain>`."""
    value = " ".join((value or "").split())
    if not value or len(value) > 253:
        return None
    return value if value.startswith("<") else f"<{value.strip('<>')}>"


def _typed_address(value: str) -> str | None:
    """`rfc822; anna@example.com` (RFC 3464 §2.3.2: address type, then the address)."""
    _, _, address = value.rpartition(";")
    address = parseaddr(address.strip())[1] or address.strip()
    return address if "@" in address else None


def _text(fields: Message, name: str) -> str:
    """A field's value on one line (a folded Diagnostic-Code unfolds with its indentation)."""
    return " ".join(str(fields.get(name, "") or "").split())
