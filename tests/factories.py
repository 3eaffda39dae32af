"""Test data factories: workspaces, sources and keys made through the real services, and
pipeline batches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from nerve.auth.service import create_key
from nerve.db.dialect import dialect_of
from nerve.db.engine import write_transaction
from nerve.identity.attached import AttachedBatch, AttachedEvent
from nerve.identity.rules import MergeRules
from nerve.workspaces.service import create_source, ensure_workspace


@dataclass(frozen=True)
class Shop:
    workspace_id: str
    write_keys: dict[str, str]
    source_ids: dict[str, str]
    secret_key: str


def make_shop(
    engine: Engine, workspace: str = "shop", kinds: tuple[str, ...] = ("web", "app", "pos")
) -> Shop:
    with write_transaction(engine) as conn:
        workspace_id = ensure_workspace(conn, workspace)
        sources = [create_source(conn, workspace_id, kind, kind) for kind in kinds]
        key = create_key(conn, workspace_id, "admin")
    return Shop(
        workspace_id=workspace_id,
        write_keys={s.name: s.write_key for s in sources},
        source_ids={s.name: s.id for s in sources},
        secret_key=key.secret_key,
    )


def attached(
    conn: Connection, workspace_id: str, events: list[tuple[int, dict[str, Any], str]]
) -> AttachedBatch:
    """A pipeline batch as the resolver would hand it on: (event id, payload, person) each,
    every person a profile of its own."""
    now = datetime.now(UTC)
    return AttachedBatch(
        workspace_id=workspace_id,
        rules=MergeRules(),
        dialect=dialect_of(conn),
        events=[
            AttachedEvent(i, "src_test", now, now, p, person, person) for i, p, person in events
        ],
        people={person: frozenset({person}) for _, _, person in events},
    )


def make_key(engine: Engine, workspace_id: str, role: str) -> str:
    """Another secret key of the workspace, with `role`."""
    with write_transaction(engine) as conn:
        return create_key(conn, workspace_id, role).secret_key
