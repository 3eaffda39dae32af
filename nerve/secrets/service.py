"""Store, list, delete and — for Nerve's own senders only — read secrets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from nerve.audit import service as audit
from nerve.db.base import utcnow
from nerve.errors import InvalidInput, NotFound
from nerve.secrets.models import Secret
from nerve.secrets.vault import Vault

NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,127}")
MAX_VALUE_BYTES = 64 * 1024


@dataclass(frozen=True)
class SecretInfo:
    name: str
    created_at: datetime
    updated_at: datetime


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise InvalidInput(
            "a secret's name is 1-128 lower-case letters, digits, dots, dashes and underscores, "
            "starting with a letter or digit (such as smtp.password or dkim.shop.example)"
        )
    return name


def put(
    conn: Connection, vault: Vault, workspace_id: str, name: str, value: str, actor: str
) -> SecretInfo:
    """Store (or replace) a secret; returns what may be shown of it."""
    check_name(name)
    if not value:
        raise InvalidInput("a secret cannot be empty")
    if len(value.encode()) > MAX_VALUE_BYTES:
        raise InvalidInput(f"a secret holds at most {MAX_VALUE_BYTES // 1024} KiB")
    ciphertext = vault.encrypt(workspace_id, name, value)
    now = utcnow()
    replaced = conn.execute(
        update(Secret)
        .where(Secret.workspace_id == workspace_id, Secret.name == name)
        .values(ciphertext=ciphertext, updated_at=now)
    ).rowcount
    if not replaced:
        conn.execute(
            insert(Secret).values(
                workspace_id=workspace_id, name=name, ciphertext=ciphertext,
                created_at=now, updated_at=now,
            )
        )  # fmt: skip
    audit.record(conn, workspace_id, actor, "secret.replaced" if replaced else "secret.set", name)
    return _info(conn, workspace_id, name)


def listed(conn: Connection, workspace_id: str) -> list[SecretInfo]:
    rows = conn.execute(
        select(Secret.name, Secret.created_at, Secret.updated_at)
        .where(Secret.workspace_id == workspace_id)
        .order_by(Secret.name)
    )
    return [SecretInfo(row.name, row.created_at, row.updated_at) for row in rows]


def remove(conn: Connection, workspace_id: str, name: str, actor: str) -> None:
    deleted = conn.execute(
        delete(Secret).where(Secret.workspace_id == workspace_id, Secret.name == name)
    ).rowcount
    if not deleted:
        raise NotFound(f"no secret named {name!r}")
    audit.record(conn, workspace_id, actor, "secret.deleted", name)


def reveal(conn: Connection, vault: Vault, workspace_id: str, name: str) -> str | None:
    """The plaintext, for a sender that needs it now; None if not set. Never for the API."""
    ciphertext = conn.scalar(
        select(Secret.ciphertext).where(Secret.workspace_id == workspace_id, Secret.name == name)
    )
    return None if ciphertext is None else vault.decrypt(workspace_id, name, ciphertext)


def rotate(conn: Connection, vault: Vault) -> int:
    """Re-encrypt every secret of every workspace under NERVE_SECRET_KEY's first key."""
    rows = conn.execute(select(Secret.workspace_id, Secret.name, Secret.ciphertext)).all()
    for row in rows:
        vault.decrypt(row.workspace_id, row.name, row.ciphertext)  # refuse a foreign row first
        conn.execute(
            update(Secret)
            .where(Secret.workspace_id == row.workspace_id, Secret.name == row.name)
            .values(ciphertext=vault.rotate(row.ciphertext))
        )
    return len(rows)


def _info(conn: Connection, workspace_id: str, name: str) -> SecretInfo:
    row = conn.execute(
        select(Secret.name, Secret.created_at, Secret.updated_at).where(
            Secret.workspace_id == workspace_id, Secret.name == name
        )
    ).one()
    return SecretInfo(row.name, row.created_at, row.updated_at)
