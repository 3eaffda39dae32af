"""`/api/v1/consent` (sign-ups with double opt-in, proof records) and `/c/{token}`, the link in
the confirmation mail."""

from __future__ import annotations

import html
import json
import uuid
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse

from nerve.admin_routes import AdminRoute
from nerve.auth.api import PUBLIC, WRITE_KEY, requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.channels import links, templates
from nerve.channels.email import EmailRequest, EmailService
from nerve.channels.pages import HTML_PAGE, page
from nerve.channels.smtp import SendDeferred
from nerve.consent import service
from nerve.consent.schemas import ConsentList, NewConsent, SignedUp
from nerve.db.session import Db, WriteDb
from nerve.errors import InvalidInput, NotFound, Unavailable, documented
from nerve.tracking.api import write_key_source

router = APIRouter(tags=["consent"], route_class=AdminRoute)
# The heads' sign-up endpoint sits among the tracking endpoints (/v1/...), ahead of their
# catch-all for unknown paths.
form_router = APIRouter(tags=["consent"], route_class=AdminRoute)

# The confirmation mail: transactional, and no advertising in it.
CONFIRMATION = templates.compile_source(
    templates.TemplateSource(
        name="consent_confirmation",
        subject="Please confirm: {{ message.topic }} from {{ shop.name | default: 'us' }}",
        html="<p>Please confirm that you want {{ message.topic }} mail from "
        "{{ shop.name | default: 'us' }}.</p><p><a href='{{ message.confirm_url }}'>Yes, "
        "subscribe me</a></p><p>Did not ask for it? Ignore this mail: without your click you "
        "get nothing from us.</p><p>{{ shop.imprint }}</p>",
    )
)


@router.post(
    "/api/v1/consent", status_code=201, response_model=SignedUp,
    responses=documented(Unavailable),
)  # fmt: skip
async def sign_up(request: Request, key: Annotated[Principal, requires(Permission.CONSENT_WRITE)],
                  new: NewConsent) -> dict[str, Any]:  # fmt: skip
    """Record a consent with its proof. With double opt-in (the default) it is pending and a
    confirmation mail goes out; only its link's click makes it count. 503 when no mail can be
    sent now: the sign-up is kept, post it again to resend. An SMS opt-in (`phone`, a topic
    on sms) is recorded as given, with `double_opt_in` false."""
    signup = service.SignUp(
        email=new.email or "", topic=new.topic, via="api", double_opt_in=new.double_opt_in,
        consent_text=new.consent_text, text_version=new.text_version,
        source_url=new.source_url, ip=new.ip, user_agent=new.user_agent,
        channel=new.channel, phone=new.phone,
    )  # fmt: skip
    return await _sign_up(request, key.workspace_id, signup)


async def _sign_up(request: Request, workspace_id: str, signup: service.SignUp) -> dict[str, Any]:
    """Record the sign-up; when it needs one, send the confirmation mail."""
    services = request.app.state.services

    def record() -> dict[str, Any]:
        with services.write() as conn:
            return service.sign_up(conn, workspace_id, signup)

    recorded = await run_in_threadpool(record)
    if not recorded["needs_confirmation"]:
        return recorded | {"confirmation": recorded.get("confirmation", "not_needed")}
    email: EmailService | None = request.app.state.email
    if email is None:
        raise Unavailable("no email transport for the confirmation: set NERVE_SMTP_URL")
    send = EmailRequest(
        workspace_id=workspace_id, profile_id=None, template=None,
        idempotency_key=f"consent:{uuid.uuid4().hex}", kind="transactional", topic=signup.topic,
        address=recorded["address"], content=CONFIRMATION, links={"confirm_url": "c"},
    )  # fmt: skip
    try:
        sent = await run_in_threadpool(email.send, send)
    except SendDeferred as exc:
        raise Unavailable(f"the confirmation mail could not be sent: {exc}") from exc

    def sent_at() -> dict[str, Any]:
        with services.write() as conn:
            address, topic = recorded["address"], signup.topic
            service.confirmation_sent(conn, workspace_id, address, topic, sent.message_id)
            return service.record(conn, workspace_id, "email", address, topic) or recorded

    return await run_in_threadpool(sent_at) | {"confirmation": "sent"}


_FORM: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            media: {"schema": {
                "type": "object", "required": ["email", "topic", "consent_text"],
                "properties": {
                    "email": {"type": "string"}, "topic": {"type": "string"},
                    "consent_text": {"type": "string"}, "text_version": {"type": "string"},
                    "source_url": {"type": "string"},
                    "writeKey": {"type": "string", "description": "when not Basic auth"},
                },
            }}
            for media in ("application/x-www-form-urlencoded", "application/json")
        },
    },
    # The write key as Basic auth, or none here and `writeKey` in the form.
    "security": [{"WriteKey": []}, {}],
    **WRITE_KEY,
}  # fmt: skip


@form_router.post(
    "/v1/subscribe", status_code=201, response_model=SignedUp, openapi_extra=_FORM,
    responses=documented(Unavailable, InvalidInput),
)  # fmt: skip
async def subscribe(request: Request) -> dict[str, Any]:
    """The hosted sign-up endpoint a head's form posts to (a source's write key, as Basic auth
    or a `writeKey` field): always double opt-in; the person's IP and browser are the request's."""
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        raise InvalidInput("the form is too large")
    fields = _fields(raw, request.headers.get("content-type", ""))
    source = await write_key_source(request, fields.get("writeKey"))
    try:
        new = NewConsent.model_validate({k: v for k, v in fields.items() if k != "writeKey"}
                                        | {"double_opt_in": True})  # fmt: skip
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidInput(f"the sign-up is incomplete: {problems}") from None
    signup = service.SignUp(
        email=new.email or "", topic=new.topic, via="form", channel=new.channel, phone=new.phone,
        consent_text=new.consent_text, text_version=new.text_version,
        source_url=new.source_url or request.headers.get("referer", "")[:2000] or None,
        ip=request.client.host if request.client else None,
        user_agent=(request.headers.get("user-agent") or "")[:1000] or None,
    )  # fmt: skip
    return await _sign_up(request, source.workspace_id, signup)


MAX_FORM_BYTES = 16 * 1024


def _fields(raw: bytes, content_type: str) -> dict[str, Any]:
    if content_type.startswith("application/json"):
        try:
            data = json.loads(raw)
        except ValueError:
            raise InvalidInput("the body is not JSON") from None
        if not isinstance(data, dict):
            raise InvalidInput("the body is not a JSON object")
        return data
    return {key: values[0] for key, values in parse_qs(raw.decode(errors="replace")).items()}


@router.get("/api/v1/consent", response_model=ConsentList)
def list_consents(
    db: Db,
    key: Annotated[Principal, requires(Permission.CONSENT_READ)],
    email: Annotated[str | None, Query(max_length=320)] = None,
    phone: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    """Every consent of an address (`email`, or `phone` for SMS) with its proof record,
    withdrawn ones too."""
    if (email is None) == (phone is None):
        raise InvalidInput("name the address by `email` or by `phone`, one of them")
    address = service.address_of(email) if email is not None \
        else service.phone_address(db, key.workspace_id, phone or "")  # fmt: skip
    return {"data": service.records(db, key.workspace_id, [address])}


def _pending(db: Any, token: str) -> Any:
    row = links.verify(db, "c", token)
    if row is None or row.recipient is None or row.topic is None:
        raise NotFound("this link is not valid")
    return row


@router.get(
    "/c/{token}", response_class=HTMLResponse, openapi_extra=PUBLIC,
    responses={**HTML_PAGE, **documented(NotFound)},
)  # fmt: skip
def confirmation_page(db: Db, token: str) -> HTMLResponse:
    """The link in the confirmation mail: one button (a mail scanner's prefetch confirms
    nothing)."""
    row = _pending(db, token)
    return page(
        "Confirm",
        f"<h1>Confirm</h1><p>{html.escape(row.topic)} mail to {html.escape(row.recipient)}?</p>",
        f"/c/{token}", "Yes, subscribe me",
    )  # fmt: skip


@router.post(
    "/c/{token}", response_class=HTMLResponse, openapi_extra=PUBLIC,
    responses={**HTML_PAGE, **documented(NotFound)},
)  # fmt: skip
def confirm(request: Request, db: WriteDb, token: str) -> HTMLResponse:
    """The person's click: the consent counts from now, with the click's time, IP and browser."""
    row = _pending(db, token)
    ip = request.client.host if request.client else None
    address = service.address_of(row.recipient)
    service.confirm(db, row.workspace_id, address, row.topic, ip, request.headers.get("user-agent"))
    return page("Subscribed", "<h1>Thank you</h1><p>You are subscribed.</p>")
