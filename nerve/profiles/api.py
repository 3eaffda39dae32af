"""Admin API: profiles, lookup by identifier, timeline, merge log, unmerge, export, erase."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from nerve.admin_routes import AdminRoute
from nerve.auth.api import requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.db.session import Db, WriteDb
from nerve.errors import Conflict, NotFound, documented
from nerve.identity.rules import load_rules
from nerve.profiles import gdpr, service
from nerve.profiles.schemas import (
    MergeLog,
    Person,
    ProfileExport,
    TimelinePage,
    Unmerged,
    UnmergeRequest,
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
) -> dict[str, Any]:
    rules = load_rules(db, key.workspace_id)
    kind, value = service.parse_identifier(identifier, rules)
    root = service.lookup(db, key.workspace_id, kind, value)
    return service.person(db, key.workspace_id, root, rules)


@router.get("/{profile_id}", response_model=Person)
def get_profile(
    db: Db, key: Annotated[Principal, requires(Permission.PROFILES_READ)], profile_id: str
) -> dict[str, Any]:
    root = service.resolve_root(db, key.workspace_id, profile_id)
    return service.person(db, key.workspace_id, root, load_rules(db, key.workspace_id))


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
) -> TimelinePage:
    root = service.resolve_root(db, key.workspace_id, profile_id)
    after = decode_timeline_cursor(cursor) if cursor else None
    events, last = service.timeline(db, root, limit, after)
    return TimelinePage(data=events, next_cursor=encode_timeline_cursor(last) if last else None)


@router.get("/{profile_id}/merges", response_model=MergeLog)
def get_merges(
    db: Db, key: Annotated[Principal, requires(Permission.PROFILES_READ)], profile_id: str
) -> dict[str, Any]:
    root = service.resolve_root(db, key.workspace_id, profile_id)
    return {"data": service.merges(db, key.workspace_id, root)}


@router.post("/{profile_id}/unmerge", response_model=Unmerged, responses=documented(Conflict))
def unmerge_profile(
    db: WriteDb,
    key: Annotated[Principal, requires(Permission.PROFILES_UNMERGE)],
    profile_id: str,
    body: UnmergeRequest | None = None,
) -> dict[str, Any]:
    merge_id = body.merge_id if body else None
    return service.unmerge(db, key.workspace_id, profile_id, merge_id)


@router.get("/{profile_id}/export", response_model=ProfileExport, response_model_exclude_unset=True)
def export_profile(
    db: Db, key: Annotated[Principal, requires(Permission.PROFILES_EXPORT)], profile_id: str
) -> dict[str, Any]:
    root = service.resolve_root(db, key.workspace_id, profile_id)
    return gdpr.export(db, key.workspace_id, root, load_rules(db, key.workspace_id))


@router.delete("/{profile_id}", status_code=204)
def erase_profile(
    db: WriteDb, key: Annotated[Principal, requires(Permission.PROFILES_ERASE)], profile_id: str
) -> Response:
    root = service.resolve_root(db, key.workspace_id, profile_id)
    gdpr.erase(db, key.workspace_id, root, actor=key.key_id)
    return Response(status_code=204)
