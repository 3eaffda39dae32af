"""Cross-process locks held for one transaction: PostgreSQL advisory locks (no-ops on SQLite,
where one writer at a time holds the database's write lock)."""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection

from nerve.db.dialect import dialect_of

# Fixed keys, one per thing to serialise. Keys derived from names (`named_key`) spread over the
# rest of the 64-bit space; a collision only makes two unrelated transactions wait for each other.
MIGRATIONS = 7_417_001


def transaction_lock(conn: Connection, key: int, *, wait: bool = True) -> bool:
    """Take lock `key` until the transaction ends; False if `wait` is off and it is taken."""
    return dialect_of(conn).lock(conn, key, wait=wait)


def named_key(*parts: str) -> int:
    """A stable signed 64-bit lock key for a name such as (workspace, "email", address)."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
