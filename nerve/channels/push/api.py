"""`/v1/push/...`: what a head needs for push, with its source's write key (HTTP Basic, as the
tracking endpoints take it) — the VAPID public key to subscribe a browser with, and its
subscriptions (a browser's PushSubscription, an app's FCM token) to register and remove."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from nerve.admin_routes import AdminRoute
from nerve.auth.api import WRITE_KEY
from nerve.channels.push import service, vapid
from nerve.channels.push.schemas import (
    NewPushSubscription,
    PushSubscribed,
    PushUnsubscribe,
    PushUnsubscribed,
    VapidPublicKey,
)
from nerve.errors import Conflict, InvalidInput, NotFound, documented
from nerve.outbound.policy import OutboundPolicy
from nerve.services import Services
from nerve.tracking.api import write_key_source
from nerve.workspaces.service import SourceInfo

router = APIRouter(prefix="/v1/push", tags=["push"], route_class=AdminRoute)
_WRITE_KEY = {"security": [{"WriteKey": []}], **WRITE_KEY}


async def _source(request: Request) -> SourceInfo:
    return await write_key_source(request, None)


Source = Annotated[SourceInfo, Depends(_source)]


@router.get(
    "/vapid-public-key", response_model=VapidPublicKey, openapi_extra=_WRITE_KEY,
    responses=documented(NotFound),
)  # fmt: skip
async def vapid_public_key(request: Request, source: Source) -> dict[str, Any]:
    """The `applicationServerKey` for `pushManager.subscribe`; 404 until the shop has made
    its key pair (`nerve push vapid`)."""
    services: Services = request.app.state.services

    def read() -> str:
        with services.read() as conn:
            return vapid.stored_public_key(conn, services.vault, source.workspace_id)

    return {"public_key": await run_in_threadpool(read)}


@router.post(
    "/subscriptions", status_code=201, response_model=PushSubscribed, openapi_extra=_WRITE_KEY,
    responses={200: {"description": "The endpoint was known: updated",
                     "model": PushSubscribed}, **documented(InvalidInput, Conflict)},
)  # fmt: skip
async def subscribe(
    request: Request, response: Response, source: Source, new: NewPushSubscription
) -> dict[str, Any]:
    """Register a browser's Web Push subscription or an app's FCM token for the person
    (userId, else anonymousId), with the push topics they agreed to at the prompt — recorded
    as consent with this request's IP and browser as proof."""
    services: Services = request.app.state.services
    outbound = OutboundPolicy.configured(services.settings)
    proof = service.Proof(
        ip=request.client.host if request.client else None,
        user_agent=(request.headers.get("user-agent") or "")[:1000] or None,
        consent_text=new.consent_text, text_version=new.text_version,
        source_url=new.source_url or request.headers.get("referer", "")[:2000] or None,
    )  # fmt: skip

    def register() -> dict[str, Any]:
        with services.write() as conn:
            return service.register(conn, source.workspace_id, new, proof, outbound)

    registered = await run_in_threadpool(register)
    if not registered["created"]:
        response.status_code = 200
    return registered


@router.delete(
    "/subscriptions", response_model=PushUnsubscribed, openapi_extra=_WRITE_KEY,
    responses=documented(InvalidInput),
)  # fmt: skip
async def unsubscribe(request: Request, source: Source, gone: PushUnsubscribe) -> dict[str, Any]:
    """Remove a subscription (the browser unsubscribed, the app signed out); when its owner
    has no subscription left, their push consents are withdrawn."""
    endpoint = gone.endpoint or gone.token
    if not endpoint or (gone.endpoint and gone.token):
        raise InvalidInput("name the subscription by its `endpoint` (Web Push) or its `token` "
                           "(FCM), one of them", details={"path": "endpoint"})  # fmt: skip
    services: Services = request.app.state.services

    def remove() -> tuple[bool, list[str]]:
        with services.write() as conn:
            return service.unregister(conn, source.workspace_id, endpoint)

    removed, withdrawn = await run_in_threadpool(remove)
    return {"removed": removed, "withdrawn": withdrawn}
