"""Record changes in the audit log, and read it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from nerve.audit.models import AuditRecord


def record(conn: Connection, workspace_id: str, actor: str, action: str, target: str) -> None:
    """Note that `actor` did `action` (e.g. `profile.erased`) to `target` (an id), now."""
    conn.execute(
        insert(AuditRecord).values(
            workspace_id=workspace_id, actor=actor[:64], action=action[:64], target=target[:64]
        )
    )


def entries(conn: Connection, workspace_id: str, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(AuditRecord.actor, AuditRecord.action, AuditRecord.target, AuditRecord.at)
        .where(AuditRecord.workspace_id == workspace_id)
        .order_by(AuditRecord.id.desc())
        .limit(limit)
    )
    return [dict(row._mapping) for row in rows]
