"""Read and change a workspace's merge rules; changes apply to events resolved from then on."""

from __future__ import annotations

from sqlalchemy import Connection, insert, update

from nerve.identity.models import IdentityRules
from nerve.identity.rules import MergeRules, load_rules
from nerve.profiles.models import AuditRecord


def get_rules(conn: Connection, workspace_id: str) -> MergeRules:
    return load_rules(conn, workspace_id)


def set_rules(conn: Connection, workspace_id: str, rules: MergeRules, actor: str) -> MergeRules:
    stored = rules.model_dump()
    changed = conn.execute(
        update(IdentityRules).where(IdentityRules.workspace_id == workspace_id).values(rules=stored)
    )
    if changed.rowcount == 0:
        conn.execute(insert(IdentityRules).values(workspace_id=workspace_id, rules=stored))
    conn.execute(
        insert(AuditRecord).values(
            workspace_id=workspace_id,
            actor=actor,
            action="identity.rules.updated",
            target=workspace_id,
        )
    )
    return rules
