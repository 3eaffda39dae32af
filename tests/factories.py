"""Test data factories: workspaces, sources and keys made through the real services."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from nerve.auth.service import create_key
from nerve.db.engine import write_transaction
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


def make_key(engine: Engine, workspace_id: str, role: str) -> str:
    """Another secret key of the workspace, with `role`."""
    with write_transaction(engine) as conn:
        return create_key(conn, workspace_id, role).secret_key
