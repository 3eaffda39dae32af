"""`/api/v1/messages`: the transactional API (order confirmations from the shop's backend) and
the message log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from starlette.concurrency import run_in_threadpool

from nerve.admin_routes import AdminRoute
from nerve.auth.api import requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.channels import messages, templates, timing
from nerve.channels.email import EmailRequest, EmailService
from nerve.channels.schemas import MessageList, MessageResult, NewMessage
from nerve.channels.smtp import SendDeferred
from nerve.consent import topics
from nerve.db.session import Db
from nerve.errors import InvalidInput, NotFound, Unavailable, documented
from nerve.events import service as events
from nerve.identity.extract import normalize_email
from nerve.profiles import service as profiles

router = APIRouter(prefix="/api/v1/messages", tags=["messages"], route_class=AdminRoute)
Sender = Annotated[Principal, requires(Permission.MESSAGES_SEND)]
Reader = Annotated[Principal, requires(Permission.MESSAGES_READ)]
CHANNELS = ("email", "sms", "push", "slack", "webhook")


@router.post(
    "", status_code=201, response_model=MessageResult, responses=documented(NotFound, Unavailable)
)
async def send_message(
    request: Request,
    key: Sender,
    new: NewMessage,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=200,
            description="The same key never sends twice: a retry gets the first answer",
        ),
    ] = None,
) -> MessageResult:
    """Send one email now — a saved template or content written here — to a person or an
    address. Transactional unless a `topic` is named. 503 when the SMTP server cannot take it
    now, or a marketing mail is held by the delivery policy (over the fatigue cap, the
    person's quiet hours; `details.retry_at`): retry with the same Idempotency-Key."""
    email_request = await run_in_threadpool(_request, request, key, new, idempotency_key)
    service: EmailService | None = request.app.state.email
    if service is None:
        raise Unavailable("no email transport: set NERVE_SMTP_URL and NERVE_EMAIL_FROM")
    try:
        sent = await run_in_threadpool(service.send, email_request)
    except SendDeferred as exc:
        raise Unavailable(f"the SMTP server did not take the message: {exc}") from exc
    except timing.Deferred as exc:  # a marketing send held by the delivery policy
        if idempotency_key is None:  # nothing can take this send up again: say so in the log
            await run_in_threadpool(_give_up, request, email_request, exc)
        raise Unavailable(f"not now, {exc.reason}; send it then with the same Idempotency-Key",
                          details={"retry_at": exc.until.isoformat()}) from exc  # fmt: skip
    return MessageResult(id=sent.id, message_id=sent.message_id, status=sent.status,
                         reason=sent.reason)  # fmt: skip


def _give_up(request: Request, email: EmailRequest, held: timing.Deferred) -> None:
    """A held send without an Idempotency-Key: a retry would be a new send, so this one is
    skipped rather than left deferred for ever."""
    with request.app.state.services.write() as conn:
        logged = messages.find(conn, email.workspace_id, email.idempotency_key)
        if logged is not None and logged.status == "deferred":
            messages.finish(conn, logged.id, "skipped", f"{held.reason}; no Idempotency-Key "
                            "to send it later with")  # fmt: skip


def _request(
    request: Request, key: Principal, new: NewMessage, idempotency_key: str | None
) -> EmailRequest:
    if (new.template is None) == (new.content is None):
        raise InvalidInput("name a `template` or give `content`, not both")
    chosen = [name for name in ("profile_id", "identifier", "email") if getattr(new.to, name)]
    if len(chosen) != 1:
        raise InvalidInput("`to` takes exactly one of profile_id, identifier, email")
    content = None
    if new.content is not None:
        source = templates.check({"name": "message", **new.content.model_dump()})
        content = templates.compile_source(source)
    profile_id = new.to.profile_id
    with request.app.state.services.read() as conn:
        if new.to.identifier is not None:
            profile_id = profiles.lookup(conn, key.workspace_id, new.to.identifier).id
        if new.template is not None:
            templates.version(conn, key.workspace_id, new.template)  # NotFound before sending
        if new.topic is not None:
            topics.require(conn, key.workspace_id, "email", new.topic)
    return EmailRequest(
        workspace_id=key.workspace_id, profile_id=profile_id, template=new.template,
        idempotency_key=f"api:{idempotency_key or uuid.uuid4().hex}",
        kind="marketing" if new.topic else "transactional", topic=new.topic,
        context=new.context, address=new.to.email, content=content,
    )  # fmt: skip


@router.get("", response_model=MessageList)
def list_messages(
    db: Db,
    key: Reader,
    profile_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(pattern=f"^({'|'.join(messages.ALL_STATUSES)})$")] = None,
    flow: Annotated[str | None, Query(max_length=100)] = None,
    template: Annotated[str | None, Query(max_length=100)] = None,
    topic: Annotated[str | None, Query(max_length=64)] = None,
    kind: Annotated[str | None, Query(pattern="^(marketing|transactional)$")] = None,
    email: Annotated[str | None, Query(max_length=320, description="The recipient")] = None,
    channel: Annotated[
        str | None, Query(pattern=f"^({'|'.join(CHANNELS)})$", description="Sent on this channel")
    ] = None,
    since: Annotated[datetime | None, Query(description="Logged at or after")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """The message log, newest first: every send with its person, flow, template and status
    (opened and clicked as the reader goes on; bounced, complained from feedback)."""
    found = messages.MessageFilter(
        profile_ids=[profile_id] if profile_id is not None else None, status=status, flow=flow,
        template=template, topic=topic, kind=kind,
        recipient=(normalize_email(email) or email) if email else None,
        since=events.in_utc(since, "since") if since else None, channel=channel,
    )  # fmt: skip
    return {"data": messages.listed(db, key.workspace_id, found, limit=limit)}
