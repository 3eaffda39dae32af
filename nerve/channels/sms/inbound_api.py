"""`POST /v1/sms/inbound/{write_key}`: where the SMS provider posts the replies to the shop's
number (Twilio: the number's "A message comes in" webhook). The write key names the workspace;
the request must carry Twilio's signature made with the workspace's `sms.auth_token`."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from nerve.admin_routes import AdminRoute, read_body
from nerve.auth.api import PUBLIC
from nerve.channels.sms import inbound
from nerve.channels.sms.channel import AUTH_TOKEN
from nerve.errors import (
    Forbidden,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    documented,
)
from nerve.secrets import service as secrets
from nerve.tracking.service import WriteKeys

router = APIRouter(tags=["sms"], route_class=AdminRoute)

MAX_BYTES = 64 * 1024  # a reply is at most 1,600 characters; Twilio adds a few dozen fields
FORM = "application/x-www-form-urlencoded"
_FIELDS = ("From", "To", "Body", "MessageSid", "AccountSid")
_OPENAPI: dict[str, Any] = {
    "requestBody": {"required": True, "content": {FORM: {"schema": {
        "type": "object", "required": ["From", "Body"],
        "properties": {name: {"type": "string"} for name in _FIELDS},
        "additionalProperties": {"type": "string"},
    }}}},
    "parameters": [{"name": "X-Twilio-Signature", "in": "header", "required": True,
                    "schema": {"type": "string"},
                    "description": "base64 HMAC-SHA1 of the URL and the sorted form fields, "
                    "keyed with the workspace's secret sms.auth_token"}],
    **PUBLIC,
}  # fmt: skip
TWIML: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/xml": {"schema": {"type": "string"}}},
          "description": "Empty TwiML: Nerve sends no reply of its own"},
}  # fmt: skip


@router.post(
    "/v1/sms/inbound/{write_key}", response_class=Response, openapi_extra=_OPENAPI,
    responses={**TWIML, **documented(Forbidden, PayloadTooLarge, UnsupportedMediaType)},
)  # fmt: skip
async def sms_reply(request: Request, write_key: str) -> Response:
    """A reply to the shop's SMS: STOP (STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT) withdraws
    every SMS consent of the number and suppresses it; START or UNSTOP lifts the suppression
    (a new opt-in is still needed for marketing). 403 when the signature does not match."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM:
        raise UnsupportedMediaType(f"the provider posts a form ({FORM})")
    raw = await read_body(request, MAX_BYTES, "an SMS reply")
    params = parse_qsl(raw.decode(errors="replace"), keep_blank_values=True)
    workspace_id = await _workspace(request, write_key)
    services = request.app.state.services

    def token() -> str | None:
        with services.read() as conn:
            return secrets.reveal(conn, services.vault, workspace_id, AUTH_TOKEN)

    auth_token = await run_in_threadpool(token)
    if auth_token is None:  # nothing can be verified: refused like a wrong signature
        raise Forbidden(f"the workspace has no {AUTH_TOKEN} to check X-Twilio-Signature with")
    urls = [_public_url(request), str(request.url)]
    given = request.headers.get("x-twilio-signature", "")
    if not inbound.verifies(auth_token, urls, params, given):
        raise Forbidden("the X-Twilio-Signature does not match this request")

    def receive() -> None:
        with services.write() as conn:
            inbound.receive(conn, workspace_id, dict(params))

    await run_in_threadpool(receive)
    return Response(inbound.EMPTY_TWIML, media_type="text/xml")


async def _workspace(request: Request, write_key: str) -> str:
    keys: WriteKeys = request.app.state.write_keys
    if len(write_key) > 200 or "\x00" in write_key:
        raise NotFound("no source has this write key")
    hit, source = keys.cached(write_key)
    if not hit:
        source = await run_in_threadpool(keys.load, write_key)
    if source is None:
        raise NotFound("no source has this write key")
    return source.workspace_id


def _public_url(request: Request) -> str:
    """The URL the provider was given: NERVE_PUBLIC_URL and this path (behind a proxy the
    request's own URL differs)."""
    base = request.app.state.settings.base_url.rstrip("/")
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{base}{request.url.path}{query}"
