"""`/api/v1/templates`: save versions, read them, preview them for a person."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import Discriminator, Tag
from starlette.concurrency import run_in_threadpool

from nerve.admin_routes import AdminRoute
from nerve.auth.api import requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.channels import context as event_context
from nerve.channels import templates
from nerve.channels.channel_templates import PushTemplate, SlackTemplate, SmsTemplate
from nerve.channels.email import EmailRequest, EmailService
from nerve.channels.sample import SAMPLE
from nerve.channels.schemas import (
    MessageResult,
    Preview,
    PreviewRequest,
    SavedTemplate,
    SendTest,
    TemplateDetail,
    TemplateList,
)
from nerve.channels.smtp import SendDeferred
from nerve.channels.templates import TemplateSource
from nerve.db.session import Db, WriteDb
from nerve.errors import InvalidInput, NotFound, Unavailable, documented
from nerve.profiles.view import person_of_profile


def _channel(value: Any) -> str | None:
    """The template's channel (email when not given); an unknown one is refused naming the
    known ones, a body that is not an object as such."""
    if isinstance(value, dict):
        return str(value.get("channel", "email"))
    found = getattr(value, "channel", None)
    return None if found is None else str(found)


# A template of any channel, told apart by `channel` (email when it is not given).
AnySource = Annotated[
    Annotated[TemplateSource, Tag("email")] | Annotated[SmsTemplate, Tag("sms")]
    | Annotated[PushTemplate, Tag("push")] | Annotated[SlackTemplate, Tag("slack")],
    Discriminator(_channel),
]  # fmt: skip

router = APIRouter(prefix="/api/v1/templates", tags=["templates"], route_class=AdminRoute)
Reader = Annotated[Principal, requires(Permission.TEMPLATES_READ)]
Writer = Annotated[Principal, requires(Permission.TEMPLATES_WRITE)]


@router.get("", response_model=TemplateList)
def list_templates(db: Db, key: Reader) -> dict[str, Any]:
    return {"data": templates.listed(db, key.workspace_id)}


@router.post(
    "",
    status_code=201,
    response_model=SavedTemplate,
    responses={
        200: {"description": "Unchanged: equal to the latest version", "model": SavedTemplate}
    },
)
def save_template(
    db: WriteDb, key: Writer, template: AnySource, response: Response
) -> SavedTemplate:
    """Check and save a new version (201): syntax, names, a strict render for the sample person
    (a variable it lacks needs a `default`), CSS inlined, text derived. Equal to the latest
    version: nothing saved, that version, `unchanged: true` (200)."""
    saved = templates.save(db, key.workspace_id, template.model_dump(), actor=key.key_id)
    if saved.unchanged:
        response.status_code = 200
    return SavedTemplate.model_validate(saved, from_attributes=True)


@router.get("/{template_name}", response_model=TemplateDetail, responses=documented(NotFound))
def get_template(db: Db, key: Reader, template_name: str) -> dict[str, Any]:
    """The latest version, what it compiled to, and every version."""
    return _detail(db, key.workspace_id, template_name, None)


@router.get(
    "/{template_name}/versions/{version}",
    response_model=TemplateDetail,
    responses=documented(NotFound),
)
def get_version(db: Db, key: Reader, template_name: str, version: str) -> dict[str, Any]:
    """One version (1, 2, ...) of the template."""
    if not (version.isascii() and version.isdigit()):
        raise NotFound(f"no version {version!r} of template {template_name!r}")
    return _detail(db, key.workspace_id, template_name, int(version))


@router.post(
    "/{template_name}/preview",
    response_model=Preview,
    response_model_exclude_none=True,
    responses=documented(NotFound, InvalidInput),
)
def preview(db: Db, key: Writer, template_name: str, request: PreviewRequest) -> dict[str, Any]:
    """A version rendered for a person (or the sample person), as a send would render it: for
    those who write templates."""
    found = templates.version(db, key.workspace_id, template_name, request.version)
    context = SAMPLE | request.context
    if request.profile_id is not None:
        person = person_of_profile(db, key.workspace_id, request.profile_id)
        if person is None:
            raise NotFound(f"no profile {request.profile_id!r}")
        context = context | {"person": templates.person_context(person)}
        context = event_context.with_recommendations(db, key.workspace_id, context, person.id)
    rendered = templates.render(found.compiled, context, found.channel)
    return {"version": found.version, "channel": found.channel, **rendered}


@router.post(
    "/{template_name}/test-send", status_code=201, response_model=MessageResult,
    responses=documented(NotFound, InvalidInput, Unavailable),
)  # fmt: skip
async def test_send(
    request: Request, key: Writer, template_name: str, test: SendTest
) -> MessageResult:
    """Send a version, rendered for a person (or the sample person), to an address — the
    subject marked [Test]. It goes out like an order mail (no consent needed; a hard-bounced
    address is still refused) and is in the message log."""
    service: EmailService | None = request.app.state.email
    if service is None:
        raise Unavailable("no email transport: set NERVE_SMTP_URL and NERVE_EMAIL_FROM")
    email = await run_in_threadpool(_test_request, request, key, template_name, test)
    try:
        sent = await run_in_threadpool(service.send, email)
    except SendDeferred as exc:
        raise Unavailable(f"the SMTP server did not take the message: {exc}") from exc
    return MessageResult(id=sent.id, message_id=sent.message_id, status=sent.status,
                         reason=sent.reason)  # fmt: skip


def _test_request(request: Request, key: Principal, name: str, test: SendTest) -> EmailRequest:
    with request.app.state.services.read() as conn:
        found = templates.version(conn, key.workspace_id, name, test.version)
        if found.channel != "email":
            raise InvalidInput(f"{name!r} is an {found.channel} template: only mails are "
                               "test-sent to an address")  # fmt: skip
        context = SAMPLE | test.context | {"person": _person(conn, key.workspace_id, test)}
    content = {**found.compiled, "subject": f"[Test] {found.compiled['subject']}"}
    return EmailRequest(
        workspace_id=key.workspace_id, profile_id=None, template=None,
        idempotency_key=f"test:{uuid.uuid4().hex}", kind="transactional", address=test.to,
        content=content, context=context, node=f"test-send:{name}:v{found.version}",
    )  # fmt: skip


def _person(conn: Any, workspace_id: str, test: SendTest) -> dict[str, Any]:
    if test.profile_id is None:
        return dict(SAMPLE["person"])
    person = person_of_profile(conn, workspace_id, test.profile_id)
    if person is None:
        raise NotFound(f"no profile {test.profile_id!r}")
    return templates.person_context(person)


def _detail(db: Any, workspace_id: str, name: str, number: int | None) -> dict[str, Any]:
    version = templates.version(db, workspace_id, name, number)
    return {
        "name": name, "version": version.version, "version_id": version.id,
        "created_at": version.created_at, "channel": version.channel, "source": version.source,
        "compiled": version.compiled,
        "versions": [dict(v._mapping) for v in templates.versions(db, workspace_id, name)],
    }  # fmt: skip
