"""Create and find workspaces and sources."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, insert, or_, select, update

from nerve.db.base import new_id
from nerve.errors import Conflict, InvalidInput
from nerve.workspaces.models import SOURCE_KINDS, Source, Workspace

DEFAULT_WORKSPACE = "default"


@dataclass(frozen=True)
class SourceInfo:
    id: str
    workspace_id: str
    name: str
    kind: str
    write_key: str


def ensure_workspace(conn: Connection, name: str = DEFAULT_WORKSPACE) -> str:
    """The id of the workspace called `name`, creating it if needed."""
    found = conn.scalar(select(Workspace.id).where(Workspace.name == name))
    if found is not None:
        return found
    workspace_id = new_id("ws")
    conn.execute(insert(Workspace).values(id=workspace_id, name=name))
    return workspace_id


def create_source(conn: Connection, workspace_id: str, name: str, kind: str) -> SourceInfo:
    if kind not in SOURCE_KINDS:
        raise InvalidInput(f"unknown source kind {kind!r}", details={"allowed": list(SOURCE_KINDS)})
    if not name.strip():
        raise InvalidInput("a source needs a name")
    exists = conn.scalar(
        select(Source.id).where(Source.workspace_id == workspace_id, Source.name == name)
    )
    if exists is not None:
        raise Conflict(f"a source called {name!r} already exists in this workspace")
    source = SourceInfo(
        id=new_id("src"),
        workspace_id=workspace_id,
        name=name,
        kind=kind,
        write_key=secrets.token_urlsafe(24),
    )
    conn.execute(
        insert(Source).values(
            id=source.id,
            workspace_id=workspace_id,
            name=name,
            kind=kind,
            write_key=source.write_key,
        )
    )
    return source


def find_source_by_write_key(conn: Connection, write_key: str) -> SourceInfo | None:
    row = conn.execute(
        select(Source.id, Source.workspace_id, Source.name, Source.kind, Source.write_key).where(
            Source.write_key == write_key
        )
    ).first()
    return SourceInfo(*row) if row else None


def list_sources(conn: Connection, workspace_id: str) -> list[SourceInfo]:
    rows = conn.execute(
        select(Source.id, Source.workspace_id, Source.name, Source.kind, Source.write_key)
        .where(Source.workspace_id == workspace_id)
        .order_by(Source.created_at, Source.name)
    ).all()
    return [SourceInfo(*row) for row in rows]


def sources_by_id(conn: Connection, source_ids: list[str]) -> list[SourceInfo]:
    if not source_ids:
        return []
    rows = conn.execute(
        select(Source.id, Source.workspace_id, Source.name, Source.kind, Source.write_key).where(
            Source.id.in_(source_ids)
        )
    ).all()
    return [SourceInfo(*row) for row in rows]


def hash_key(conn: Connection, workspace_id: str) -> bytes:
    """The workspace's key for hashing erased identifiers, made on first use."""
    key = conn.scalar(select(Workspace.hash_key).where(Workspace.id == workspace_id))
    if not key:
        key = secrets.token_hex(32)
        conn.execute(update(Workspace).where(Workspace.id == workspace_id).values(hash_key=key))
    return bytes.fromhex(key)


def source_ids(conn: Connection, workspace_id: str, id_or_name: str) -> list[str]:
    """The id of the workspace's source with this id or name (none if there is no such)."""
    return list(
        conn.scalars(
            select(Source.id).where(
                Source.workspace_id == workspace_id,
                or_(Source.id == id_or_name, Source.name == id_or_name),
            )
        )
    )
