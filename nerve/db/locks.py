"""Cross-process locks held for one transaction: PostgreSQL advisory locks.

On SQLite there is one writer at a time anyway (write transactions begin IMMEDIATE), so these
are no-ops there.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

# Any fixed numbers, one per thing to serialise.
MIGRATIONS = 7_417_001
IDENTITY_GRAPH = 7_417_002


def transaction_lock(conn: Connection, key: int, *, wait: bool = True) -> bool:
    """Take lock `key` until the transaction ends; False if `wait` is off and it is taken."""
    if conn.dialect.name != "postgresql":
        return True
    if wait:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
        return True
    return bool(conn.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}))
