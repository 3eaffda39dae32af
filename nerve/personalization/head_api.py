"""`GET /v1/personalize`: what a head may show the visitor on this page render, with its
source's write key (HTTP Basic username, as the tracking endpoints take it, or `writeKey` in
the query for a plain browser request); callable from the shop's pages (CORS).

A write key reaches only its own workspace: the visitor is looked up there, so another shop's
key finds no one (an unknown visitor: the default variants)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from nerve.admin_routes import AdminRoute
from nerve.auth.api import WRITE_KEY
from nerve.db.base import utcnow
from nerve.errors import InvalidInput, documented
from nerve.personalization import service
from nerve.personalization.impressions import ImpressionLog
from nerve.personalization.schemas import Personalized
from nerve.personalization.slots import SlotCache
from nerve.services import Services
from nerve.tracking.api import write_key_source

router = APIRouter(prefix="/v1", tags=["personalization"], route_class=AdminRoute)
_WRITE_KEY = {"security": [{"WriteKey": []}], **WRITE_KEY}


@router.get("/personalize", response_model=Personalized, openapi_extra=_WRITE_KEY,
            responses=documented(InvalidInput))  # fmt: skip
async def personalize(
    request: Request,
    anonymous_id: Annotated[str | None, Query(
        alias="anonymousId", max_length=255, description="The device's anonymous id")] = None,
    user_id: Annotated[str | None, Query(
        alias="userId", max_length=255, description="The signed-in user's id")] = None,
    slots: Annotated[str, Query(
        max_length=2100, description="Slot keys, comma separated (at most 20)")] = "",
    context: Annotated[str | None, Query(
        max_length=300, description="The listing a product_list slot is for: "
        "`category:Shoes` or `query:running`")] = None,
    recommendations: Annotated[int, Query(
        ge=0, le=service.MAX_RECOMMENDATIONS, description="How many products to recommend")] = 0,
    write_key: Annotated[str | None, Query(
        alias="writeKey", max_length=1000, description="The write key, when not sent as the "
        "Basic-auth username")] = None,
) -> dict[str, Any]:  # fmt: skip
    """Public segments, top interests, recommended products and a decision per slot for the
    visitor the ids name — the user id's person when identity knows it, else the anonymous
    id's; an unknown visitor gets the defaults. Unknown slot keys are listed in
    `unknown_slots`. Every decision is logged as an impression."""
    source = await write_key_source(request, write_key)
    asked = service.ask(anonymous_id, user_id, slots, context, recommendations)
    services: Services = request.app.state.services
    cache: SlotCache = request.app.state.slot_cache

    def run() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        with services.read() as conn:
            return service.personalize(conn, cache, source.workspace_id, asked, utcnow())

    found, logged = await run_in_threadpool(run)
    impressions: ImpressionLog = request.app.state.impressions
    impressions.add(logged)
    return found
