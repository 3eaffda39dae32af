"""Admin API: the workspace's merge rules."""

from __future__ import annotations

from fastapi import APIRouter

from nerve.auth.api import CurrentKey
from nerve.db.session import Db, WriteDb
from nerve.identity import service
from nerve.identity.rules import MergeRules

router = APIRouter(prefix="/api/v1/identity", tags=["identity"])


@router.get("/rules", response_model=MergeRules)
def get_rules(db: Db, key: CurrentKey) -> MergeRules:
    return service.get_rules(db, key.workspace_id)


@router.put("/rules", response_model=MergeRules)
def put_rules(db: WriteDb, key: CurrentKey, rules: MergeRules) -> MergeRules:
    return service.set_rules(db, key.workspace_id, rules, actor=key.key_id)
