"""`/api/v1/audiences`: segments kept in sync with ad platforms' custom audiences — make, read
(status, counts, the cursor's lag), pause, resume, delete, and export as CSV."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.responses import Response, StreamingResponse

from nerve.admin_routes import AdminRoute
from nerve.audiences import export, service
from nerve.audiences.schemas import AudienceList, AudienceOut, NewAudienceIn
from nerve.auth.api import requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.db.session import Db, WriteDb
from nerve.errors import Conflict, documented

router = APIRouter(prefix="/api/v1/audiences", tags=["audiences"], route_class=AdminRoute)
Manager = Annotated[Principal, requires(Permission.AUDIENCES_MANAGE)]
Reader = Annotated[Principal, requires(Permission.AUDIENCES_READ)]
AudienceId = Annotated[str, Path(description="The audience's id (`aud_…`)")]


@router.post("", response_model=AudienceOut, status_code=201, responses=documented(Conflict))
def create_audience(db: WriteDb, key: Manager, new: NewAudienceIn) -> dict[str, Any]:
    """Keep a segment in sync with a destination: first every member it has now, then each
    entry and exit, hashed, only people who allow `consent_topic`. 409 if the name is taken."""
    made = service.create(db, key.workspace_id, service.NewAudience(**new.model_dump()),
                          actor=key.key_id)  # fmt: skip
    return asdict(made)


@router.get("", response_model=AudienceList)
def list_audiences(db: Db, key: Reader) -> dict[str, Any]:
    """The workspace's audiences with their status and counts."""
    return {"data": [asdict(found) for found in service.listed(db, key.workspace_id)]}


@router.get("/{audience_id}", response_model=AudienceOut)
def get_audience(db: Db, key: Reader, audience_id: AudienceId) -> dict[str, Any]:
    """One audience: status, counts, the cursor's lag, the latest error."""
    return asdict(service.get(db, key.workspace_id, audience_id))


@router.post("/{audience_id}/pause", response_model=AudienceOut)
def pause_audience(db: WriteDb, key: Manager, audience_id: AudienceId) -> dict[str, Any]:
    """Stop sending; a resume goes on where it stopped, nothing lost."""
    return asdict(service.pause(db, key.workspace_id, audience_id, actor=key.key_id))


@router.post("/{audience_id}/resume", response_model=AudienceOut)
def resume_audience(db: WriteDb, key: Manager, audience_id: AudienceId) -> dict[str, Any]:
    """Send again, at once (also a failed audience, once its cause is fixed)."""
    return asdict(service.resume(db, key.workspace_id, audience_id, actor=key.key_id))


@router.delete("/{audience_id}", status_code=204)
def delete_audience(db: WriteDb, key: Manager, audience_id: AudienceId) -> Response:
    """Stop and forget the sync; the platform's audience itself is left as it is."""
    service.remove(db, key.workspace_id, audience_id, actor=key.key_id)
    return Response(status_code=204)


@router.get(
    "/{audience_id}/export.csv",
    response_class=StreamingResponse,
    responses={200: {"description": "email_sha256, phone_sha256, phone_e164_sha256, "
                     "external_id: a row per record of each member who allows the topic",
                     "content": {"text/csv": {"schema": {"type": "string"}}}}},
)  # fmt: skip
def export_audience(request: Request, key: Reader, audience_id: AudienceId) -> StreamingResponse:
    """The segment's current members' hashed identifiers as CSV, streamed."""
    lines = export.rows(request.app.state.engine, key.workspace_id, audience_id)
    headers = {"content-disposition": f'attachment; filename="{audience_id}.csv"'}
    return StreamingResponse(lines, media_type="text/csv; charset=utf-8", headers=headers)
