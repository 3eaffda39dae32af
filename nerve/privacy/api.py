"""Admin API: a person's data export and erasure (GDPR Art. 15 and 17)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Request, Response

from nerve.admin_routes import AdminRoute, exact_json
from nerve.auth.api import requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.db.session import Db, WriteDb
from nerve.privacy import service
from nerve.privacy.schemas import ProfileExport

router = APIRouter(prefix="/api/v1/profiles", tags=["profiles"], route_class=AdminRoute)


# exclude_unset: an event's optional Segment fields appear only when the head sent them.
@router.get("/{profile_id}/export", response_model=ProfileExport, response_model_exclude_unset=True)
def export_profile(
    db: Db, key: Annotated[Principal, requires(Permission.PROFILES_EXPORT)], profile_id: str
) -> Response:
    export = ProfileExport.model_validate(service.export(db, key.workspace_id, profile_id))
    return exact_json(export, exclude_unset=True)


@router.delete("/{profile_id}", status_code=204)
def erase_profile(
    db: WriteDb,
    key: Annotated[Principal, requires(Permission.PROFILES_ERASE)],
    profile_id: str,
    request: Request,
    after_commit: BackgroundTasks,
) -> Response:
    service.erase(db, key.workspace_id, profile_id, actor=key.key_id)
    # This process's ingest reads the erased identifiers again at once; other processes
    # within the second their copy may be old.
    after_commit.add_task(request.app.state.suppression.forget, key.workspace_id)
    return Response(status_code=204)
