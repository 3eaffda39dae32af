"""Admin API: `GET /api/v1/events`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from nerve.admin_routes import AdminRoute, exact_json
from nerve.auth.api import requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.db.session import Db
from nerve.events import service
from nerve.events.schemas import EventPage

router = APIRouter(prefix="/api/v1", tags=["events"], route_class=AdminRoute)


@router.get("/events", response_model=EventPage, response_model_exclude_unset=True)
def list_events(
    db: Db,
    key: Annotated[Principal, requires(Permission.EVENTS_READ)],
    source: Annotated[str | None, Query(description="Source id or name")] = None,
    type: Annotated[
        Literal["identify", "track", "page", "screen", "group", "alias"] | None, Query()
    ] = None,
    event: Annotated[str | None, Query(description="Track event name")] = None,
    user_id: Annotated[str | None, Query(alias="userId")] = None,
    anonymous_id: Annotated[str | None, Query(alias="anonymousId")] = None,
    since: Annotated[datetime | None, Query(description="Event time, inclusive")] = None,
    until: Annotated[datetime | None, Query(description="Event time, exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> Response:
    where = service.EventFilter(source, type, event, user_id, anonymous_id, since, until)
    data, next_cursor = service.list_events(db, key.workspace_id, where, limit, cursor)
    return exact_json(EventPage(data=data, next_cursor=next_cursor), exclude_unset=True)
