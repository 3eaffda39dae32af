"""Create and verify secret API keys (`nrv_<key id>.<secret>`), shown once, stored hashed."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select

from nerve.auth.models import ApiKey
from nerve.auth.roles import ROLES
from nerve.db.base import new_id
from nerve.errors import InvalidInput, Unauthorized

_PREFIX = "nrv"


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


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(conn: Connection, workspace_id: str, role: str = "admin") -> CreatedKey:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}", details={"allowed": list(ROLES)})
    key_id = new_id("key")
    secret = secrets.token_urlsafe(32)
    conn.execute(
        insert(ApiKey).values(
            id=key_id, workspace_id=workspace_id, role=role, secret_hash=_hash(secret)
        )
    )
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
