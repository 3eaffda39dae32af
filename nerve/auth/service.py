"""Create, verify, list, revoke and rotate secret API keys (`nrv_<key id>.<secret>`), shown
once, stored hashed. Every change is in the audit log with who made it.

Keys are checked against the database on every request (no cache), so a revoked key is refused
at once by every process.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from nerve.audit import service as audit
from nerve.auth.models import ApiKey
from nerve.auth.roles import ADMIN, ROLES
from nerve.db.base import new_id, utcnow
from nerve.errors import Conflict, InvalidInput, NotFound, Unauthorized

_PREFIX = "nrv"
# The actor of a change made by whoever runs the CLI without NERVE_API_KEY.
OPERATOR = "operator"


@dataclass(frozen=True)
class Principal:
    key_id: str
    workspace_id: str
    role: str


@dataclass(frozen=True)
class CreatedKey:
    id: str
    role: str
    secret_key: str
    replaces: str | None = None  # the key it rotated


@dataclass(frozen=True)
class KeyInfo:
    id: str
    role: str
    created_at: datetime
    revoked_at: datetime | None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    conn: Connection, workspace_id: str, role: str = ADMIN, *, actor: str = OPERATOR
) -> CreatedKey:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}", details={"allowed": list(ROLES)})
    key_id = new_id("key")
    secret = secrets.token_urlsafe(32)
    conn.execute(
        insert(ApiKey).values(
            id=key_id,
            workspace_id=workspace_id,
            role=role,
            secret_hash=_hash(secret),
            # Microseconds (SQLite's default keeps seconds): keys list in the order made.
            created_at=utcnow(),
        )
    )
    audit.record(conn, workspace_id, actor, "api_key.created", key_id)
    return CreatedKey(id=key_id, role=role, secret_key=f"{_PREFIX}_{key_id}.{secret}")


def verify_key(conn: Connection, presented: str) -> Principal:
    body = presented.removeprefix(f"{_PREFIX}_")
    key_id, _, secret = body.partition(".")
    if body == presented or not key_id or not secret:
        raise Unauthorized("malformed API key")
    row = conn.execute(
        select(ApiKey.workspace_id, ApiKey.role, ApiKey.secret_hash).where(
            ApiKey.id == key_id, ApiKey.revoked_at.is_(None)
        )
    ).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(secret)):
        raise Unauthorized("unknown API key")
    return Principal(key_id=key_id, workspace_id=row.workspace_id, role=row.role)


def list_keys(conn: Connection, workspace_id: str) -> list[KeyInfo]:
    """The workspace's keys, revoked ones too, oldest first; never a secret."""
    rows = conn.execute(
        select(ApiKey.id, ApiKey.role, ApiKey.created_at, ApiKey.revoked_at)
        .where(ApiKey.workspace_id == workspace_id)
        .order_by(ApiKey.created_at, ApiKey.id)
    ).all()
    return [KeyInfo(*row) for row in rows]


def revoke_key(conn: Connection, workspace_id: str, key_id: str, *, actor: str) -> KeyInfo:
    """Refuse the key from now on, in every process (keys are not cached)."""
    key = _revoke(conn, workspace_id, key_id)
    audit.record(conn, workspace_id, actor, "api_key.revoked", key_id)
    return key


def rotate_key(conn: Connection, workspace_id: str, key_id: str, *, actor: str) -> CreatedKey:
    """A new key with the same role; the old one is revoked. A revoked key is not rotated:
    that would bring back access someone took away (create a new key instead)."""
    old = _revoke(conn, workspace_id, key_id)
    audit.record(conn, workspace_id, actor, "api_key.rotated", key_id)
    new = create_key(conn, workspace_id, old.role, actor=actor)
    return CreatedKey(id=new.id, role=new.role, secret_key=new.secret_key, replaces=key_id)


def _revoke(conn: Connection, workspace_id: str, key_id: str) -> KeyInfo:
    # Conditional, so that of two revocations racing one wins and the other is told.
    changed = conn.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id, ApiKey.workspace_id == workspace_id, ApiKey.revoked_at.is_(None)
        )
        .values(revoked_at=utcnow())
    )
    key = _find_key(conn, workspace_id, key_id)
    if changed.rowcount == 0:
        assert key.revoked_at is not None
        raise Conflict(
            f"the key {key_id} is already revoked",
            details={"revoked_at": key.revoked_at.isoformat()},
        )
    return key


def _find_key(conn: Connection, workspace_id: str, key_id: str) -> KeyInfo:
    row = conn.execute(
        select(ApiKey.id, ApiKey.role, ApiKey.created_at, ApiKey.revoked_at).where(
            ApiKey.id == key_id, ApiKey.workspace_id == workspace_id
        )
    ).first()
    if row is None:
        raise NotFound(f"no API key {key_id!r} in this workspace")
    return KeyInfo(*row)
