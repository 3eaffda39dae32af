"""Create and find workspaces and sources; revoke and rotate a source's write key."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from nerve.audit import service as audit
from nerve.db.base import new_id, utcnow
from nerve.errors import Conflict, InvalidInput, NotFound
from nerve.workspaces.models import SOURCE_KINDS, Source, Workspace

DEFAULT_WORKSPACE = "default"


@dataclass(frozen=True)
class SourceInfo:
    id: str
    workspace_id: str
    name: str
    kind: str
    write_key: str
    write_key_revoked_at: datetime | None = None


_COLUMNS = (
    Source.id,
    Source.workspace_id,
    Source.name,
    Source.kind,
    Source.write_key,
    Source.write_key_revoked_at,
)


def find_workspace(conn: Connection, name: str = DEFAULT_WORKSPACE) -> str | None:
    """The id of the workspace called `name`, if there is one."""
    return conn.scalar(select(Workspace.id).where(Workspace.name == name))


def ensure_workspace(conn: Connection, name: str = DEFAULT_WORKSPACE) -> str:
    """The id of the workspace called `name`, creating it if needed."""
    found = conn.scalar(select(Workspace.id).where(Workspace.name == name))
    if found is not None:
        return found
    workspace_id = new_id("ws")
    # The hashing and signing key is made with the workspace: made on first use instead, a
    # read (a head reading its cart token) would have to write it, and on SQLite a read
    # transaction cannot take the write lock while the worker holds it ("database is locked").
    conn.execute(
        insert(Workspace).values(id=workspace_id, name=name, hash_key=secrets.token_hex(32))
    )
    return workspace_id


def create_source(
    conn: Connection, workspace_id: str, name: str, kind: str, *, own: bool = False
) -> SourceInfo:
    if kind not in SOURCE_KINDS:
        raise InvalidInput(f"unknown source kind {kind!r}", details={"allowed": list(SOURCE_KINDS)})
    if not name.strip():
        raise InvalidInput("a source needs a name")
    if not own and name.strip().casefold().startswith(_OWN_PREFIX):
        # Nerve's own sources ("Nerve orders", "Nerve segments") are found by name: one made
        # under such a name with a working write key would let a head send as Nerve.
        raise InvalidInput(f"source names beginning with {_OWN_PREFIX!r} are Nerve's own")
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
        write_key=_new_write_key(),
    )
    conn.execute(
        insert(Source).values(
            id=source.id,
            workspace_id=workspace_id,
            name=name,
            kind=kind,
            write_key=source.write_key,
            created_at=utcnow(),  # microseconds: sources list in the order made
        )
    )
    return source


_OWN_PREFIX = "nerve "


def own_source(conn: Connection, workspace_id: str, name: str) -> str:
    """The id of one of Nerve's own sources (the events it records itself, such as a mail's
    opens and clicks), made on first use. Nerve writes those events directly, so the source's
    write key is revoked from the start: no head can send as Nerve."""
    found = conn.scalar(
        select(Source.id).where(Source.workspace_id == workspace_id, Source.name == name)
    )
    if found is not None:
        return found
    try:
        with conn.begin_nested():  # two first sends at once: one makes it, the other reads it
            source = create_source(conn, workspace_id, name, "server", own=True)
            conn.execute(
                update(Source).where(Source.id == source.id).values(write_key_revoked_at=utcnow())
            )
    except (IntegrityError, Conflict):
        return str(conn.scalar(
            select(Source.id).where(Source.workspace_id == workspace_id, Source.name == name)
        ))  # fmt: skip
    return source.id


def _new_write_key() -> str:
    return secrets.token_urlsafe(24)


def find_source_by_write_key(conn: Connection, write_key: str) -> SourceInfo | None:
    """The source that may send events with `write_key`; None when unknown or revoked."""
    row = conn.execute(
        select(*_COLUMNS).where(
            Source.write_key == write_key, Source.write_key_revoked_at.is_(None)
        )
    ).first()
    return SourceInfo(*row) if row else None


def list_sources(conn: Connection, workspace_id: str) -> list[SourceInfo]:
    rows = conn.execute(
        select(*_COLUMNS)
        .where(Source.workspace_id == workspace_id)
        .order_by(Source.created_at, Source.name)
    ).all()
    return [SourceInfo(*row) for row in rows]


def sources_by_id(conn: Connection, source_ids: list[str]) -> list[SourceInfo]:
    if not source_ids:
        return []
    rows = conn.execute(select(*_COLUMNS).where(Source.id.in_(source_ids))).all()
    return [SourceInfo(*row) for row in rows]


# Hash keys never change once made: a process reads each once (sends hash every recipient).
_HASH_KEYS: dict[str, bytes] = {}


def hash_key(conn: Connection, workspace_id: str) -> bytes:
    """The workspace's key for hashing erased identifiers, made on first use."""
    if (known := _HASH_KEYS.get(workspace_id)) is not None:
        return known
    key = conn.scalar(select(Workspace.hash_key).where(Workspace.id == workspace_id))
    made: dict[str, int] = conn.info.setdefault("made_hash_keys", {})
    if not key:
        # Only where none is set: of two transactions making the first key at once, the
        # second's update finds the first's key (PostgreSQL re-reads the row once it may) and
        # takes it, instead of replacing a key that already signs links.
        conn.execute(
            update(Workspace)
            .where(Workspace.id == workspace_id, Workspace.hash_key.is_(None))
            .values(hash_key=secrets.token_hex(32))
        )
        key = str(conn.scalar(select(Workspace.hash_key).where(Workspace.id == workspace_id)))
        made[workspace_id] = id(conn.get_transaction())
    elif made.get(workspace_id) != id(conn.get_transaction()):  # committed before: it stays
        _HASH_KEYS[workspace_id] = bytes.fromhex(key)
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


def find_source(conn: Connection, workspace_id: str, name_or_id: str) -> SourceInfo:
    """The workspace's source with this id or, failing that, this name."""
    rows = conn.execute(
        select(*_COLUMNS).where(
            Source.workspace_id == workspace_id,
            or_(Source.id == name_or_id, Source.name == name_or_id),
        )
    ).all()
    if not rows:
        raise NotFound(f"no source {name_or_id!r} in this workspace")
    by_id = [row for row in rows if row.id == name_or_id]
    return SourceInfo(*(by_id or rows)[0])


def revoke_write_key(
    conn: Connection, workspace_id: str, name_or_id: str, actor: str
) -> SourceInfo:
    """Refuse the source's events from now on (every server process within a second, see
    nerve.tracking.service.WriteKeys); `rotate_write_key` gives it a new key."""
    source = find_source(conn, workspace_id, name_or_id)
    if source.write_key_revoked_at is not None:
        raise Conflict(
            f"the write key of {source.name!r} is already revoked",
            details={"revoked_at": source.write_key_revoked_at.isoformat()},
        )
    revoked_at = utcnow()
    conn.execute(
        update(Source).where(Source.id == source.id).values(write_key_revoked_at=revoked_at)
    )
    audit.record(conn, workspace_id, actor, "source.write_key.revoked", source.id)
    return replace(source, write_key_revoked_at=revoked_at)


def rotate_write_key(
    conn: Connection, workspace_id: str, name_or_id: str, actor: str
) -> SourceInfo:
    """A new write key for the source; the old one is refused from now on. A revoked source
    accepts events again, with the new key."""
    source = find_source(conn, workspace_id, name_or_id)
    write_key = _new_write_key()
    conn.execute(
        update(Source)
        .where(Source.id == source.id)
        .values(write_key=write_key, write_key_revoked_at=None)
    )
    audit.record(conn, workspace_id, actor, "source.write_key.rotated", source.id)
    return replace(source, write_key=write_key, write_key_revoked_at=None)
