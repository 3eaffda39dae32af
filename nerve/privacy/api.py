"""Admin API: a person's data export and erasure (GDPR Art. 15 and 17)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response

from nerve.auth.api import requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.db.session import Db, WriteDb
from nerve.privacy import service

router = APIRouter(prefix="/api/v1/profiles", tags=["profiles"])


@router.get("/{profile_id}/export")
def export_profile(
    db: Db, key: Annotated[Principal, requires(Permission.PROFILES_EXPORT)], profile_id: str
) -> dict[str, Any]:
    return service.export(db, key.workspace_id, profile_id)


@router.delete("/{profile_id}", status_code=204)
def erase_profile(
    db: WriteDb, key: Annotated[Principal, requires(Permission.PROFILES_ERASE)], profile_id: str
) -> Response:
    service.erase(db, key.workspace_id, profile_id, actor=key.key_id)
    return Response(status_code=204)
