"""Admin API: look a person up by any identifier, read them, their timeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from nerve.admin_routes import AdminRoute, exact_json
from nerve.auth.api import requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.db.session import Db
from nerve.errors import NotFound, documented
from nerve.profiles import service
from nerve.profiles.schemas import (
    Person,
    TimelinePage,
    decode_timeline_cursor,
    encode_timeline_cursor,
)

router = APIRouter(prefix="/api/v1/profiles", tags=["profiles"], route_class=AdminRoute)


@router.get("", response_model=Person, responses=documented(NotFound))
def lookup_profile(
    db: Db,
    key: Annotated[Principal, requires(Permission.PROFILES_READ)],
    identifier: Annotated[
        str,
        Query(
            description="TYPE:VALUE, e.g. email:anna@example.com",
            examples=["email:anna@example.com", "user_id:anna", "phone:+4915112345678"],
        ),
    ],
) -> Person:
    return service.lookup(db, key.workspace_id, identifier)


@router.get("/{profile_id}", response_model=Person)
def get_profile(
    db: Db, key: Annotated[Principal, requires(Permission.PROFILES_READ)], profile_id: str
) -> Person:
    return service.get(db, key.workspace_id, profile_id)


# exclude_unset: an event's optional Segment fields appear only when the head sent them.
@router.get(
    "/{profile_id}/timeline", response_model=TimelinePage, response_model_exclude_unset=True
)
def get_timeline(
    db: Db,
    key: Annotated[Principal, requires(Permission.PROFILES_READ)],
    profile_id: str,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> Response:
    after = decode_timeline_cursor(cursor) if cursor else None
    events, last = service.timeline(db, key.workspace_id, profile_id, limit, after)
    cursor_out = encode_timeline_cursor(last) if last else None
    page = TimelinePage.model_validate({"data": events, "next_cursor": cursor_out})
    return exact_json(page, exclude_unset=True)
