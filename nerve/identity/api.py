"""Admin API: the workspace's merge rules, a person's merge log, and unmerge."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from nerve.admin_routes import AdminRoute
from nerve.auth.api import requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.db.session import Db, WriteDb
from nerve.errors import Conflict, documented
from nerve.identity import service
from nerve.identity.rules import MergeRules
from nerve.identity.schemas import MergeLog, Unmerged, UnmergeRequest

router = APIRouter(prefix="/api/v1/identity", tags=["identity"], route_class=AdminRoute)
profile_router = APIRouter(prefix="/api/v1/profiles", tags=["profiles"], route_class=AdminRoute)


@router.get("/rules", response_model=MergeRules)
def get_rules(
    db: Db, key: Annotated[Principal, requires(Permission.IDENTITY_RULES_READ)]
) -> MergeRules:
    return service.get_rules(db, key.workspace_id)


@router.put("/rules", response_model=MergeRules)
def put_rules(
    db: WriteDb,
    key: Annotated[Principal, requires(Permission.IDENTITY_RULES_WRITE)],
    rules: MergeRules,
) -> MergeRules:
    return service.set_rules(db, key.workspace_id, rules, actor=key.key_id)


@profile_router.get("/{profile_id}/merges", response_model=MergeLog)
def get_merges(
    db: Db, key: Annotated[Principal, requires(Permission.PROFILES_READ)], profile_id: str
) -> dict[str, Any]:
    person = service.person_of(db, key.workspace_id, profile_id)
    return {"data": service.merges(db, key.workspace_id, person)}


@profile_router.post(
    "/{profile_id}/unmerge", response_model=Unmerged, responses=documented(Conflict)
)
def unmerge_profile(
    db: WriteDb,
    key: Annotated[Principal, requires(Permission.PROFILES_UNMERGE)],
    profile_id: str,
    body: UnmergeRequest | None = None,
) -> dict[str, Any]:
    merge_id = body.merge_id if body else None
    return service.unmerge(db, key.workspace_id, profile_id, merge_id, actor=key.key_id)
