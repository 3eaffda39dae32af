"""Admin API: the workspace's merge rules."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from nerve.admin_routes import AdminRoute
from nerve.auth.api import requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.db.session import Db, WriteDb
from nerve.identity import service
from nerve.identity.rules import MergeRules

router = APIRouter(prefix="/api/v1/identity", tags=["identity"], route_class=AdminRoute)


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
