"""`/api/v1/segments…`: define segments (validate, preview, apply a new version), read them
with their build's progress, page their members, archive them; and a person's segments."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response

from nerve.admin_routes import AdminRoute
from nerve.auth.api import requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.db.session import Db, WriteDb
from nerve.errors import Conflict, InvalidSegment, documented
from nerve.segments import service
from nerve.segments.schemas import (
    Applied,
    MemberPage,
    Preview,
    ProfileSegments,
    SegmentDetail,
    SegmentList,
    Valid,
)

router = APIRouter(prefix="/api/v1/segments", tags=["segments"], route_class=AdminRoute)
profile_router = APIRouter(prefix="/api/v1/profiles", tags=["segments"], route_class=AdminRoute)
Reader = Annotated[Principal, requires(Permission.SEGMENTS_READ)]
Writer = Annotated[Principal, requires(Permission.SEGMENTS_WRITE)]
Definition = Annotated[dict[str, Any], Body(description="A segment definition (docs/segments.md)")]
Key = Annotated[str, Path(description="The segment's key")]


@router.post("", status_code=201, response_model=Applied, responses={
    200: {"description": "Unchanged: the active version is the same", "model": Applied},
    **documented(InvalidSegment)})  # fmt: skip
def apply_segment(db: WriteDb, key: Writer, definition: Definition,
                  response: Response) -> dict[str, Any]:  # fmt: skip
    """A new version (201), built in the background over existing people, or nothing when the
    definition equals the active version (200). 400 lists each problem with its path."""
    applied = service.apply(db, key.workspace_id, definition)
    if applied["unchanged"]:
        response.status_code = 200
    return applied


@router.post("/validate", response_model=Valid, responses=documented(InvalidSegment))
def validate_segment(db: Db, key: Writer, definition: Definition) -> dict[str, Any]:
    """Check a definition without saving it: 400 with `{path, reason}` problems."""
    return {"valid": True, "key": service.checked(db, key.workspace_id, definition).key}


@router.post("/preview", response_model=Preview, responses=documented(InvalidSegment))
def preview_segment(db: Db, key: Writer, definition: Definition) -> dict[str, Any]:
    """How many people the definition holds over existing data, and a sample of up to ten —
    without saving anything."""
    return service.preview(db, key.workspace_id, definition)


@router.get("", response_model=SegmentList)
def list_segments(db: Db, key: Reader) -> dict[str, Any]:
    return {"segments": service.listed(db, key.workspace_id)}


@router.get("/{segment_key}", response_model=SegmentDetail)
def get_segment(db: Db, key: Reader, segment_key: Key) -> dict[str, Any]:
    """The segment, its member count, its build's status and progress, and its versions."""
    return service.detail(db, key.workspace_id, segment_key)


@router.get("/{segment_key}/members", response_model=MemberPage)
def segment_members(
    db: Db, key: Reader, segment_key: Key,
    after: Annotated[str | None, Query(max_length=64, description="The `next` of a page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:  # fmt: skip
    return service.members(db, key.workspace_id, segment_key, after, limit)


@router.delete("/{segment_key}", status_code=204, responses=documented(Conflict))
def archive_segment(db: WriteDb, key: Writer, segment_key: Key) -> Response:
    """Archive: no members, no more evaluation; 409 while another segment references it."""
    service.archive(db, key.workspace_id, segment_key)
    return Response(status_code=204)


@profile_router.get("/{profile_id}/segments", response_model=ProfileSegments)
def profile_segments(db: Db, key: Reader, profile_id: str) -> dict[str, Any]:
    """The segments the person this profile belongs to is in now, by key."""
    found = service.of_profile(db, key.workspace_id, profile_id)
    return {"segments": [{"key": s.key, "name": s.name, "public": s.public} for s in found]}
