"""Tokens in the links of a mail (unsubscribe now; preferences, clicks, opens next): opaque,
signed with the workspace's key, naming one message log row — never a guessable id.

A token is base64url(row id + the first 16 bytes of HMAC-SHA256(key, purpose + row id)); a
forged or altered one finds nothing, and a 404 says no more than that.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from sqlalchemy import Connection, select

from nerve.channels.models import Message
from nerve.workspaces import service as workspaces

_MAC_BYTES = 16


def _mac(conn: Connection, workspace_id: str, purpose: str, row_id: str) -> bytes:
    key = hmac.new(workspaces.hash_key(conn, workspace_id), b"links", hashlib.sha256).digest()
    return hmac.new(key, f"{purpose}:{row_id}".encode(), hashlib.sha256).digest()[:_MAC_BYTES]


def token(conn: Connection, workspace_id: str, purpose: str, row_id: str) -> str:
    raw = row_id.encode() + _mac(conn, workspace_id, purpose, row_id)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def verify(conn: Connection, purpose: str, presented: str) -> Any:
    """The message row a genuine token names; None for anything else."""
    try:
        raw = base64.urlsafe_b64decode(presented + "=" * (-len(presented) % 4))
    except (ValueError, TypeError):
        return None
    if len(raw) <= _MAC_BYTES or len(presented) > 200:
        return None
    try:
        row_id = raw[:-_MAC_BYTES].decode("ascii")
    except UnicodeDecodeError:
        return None
    row = conn.execute(select(Message).where(Message.id == row_id)).first()
    if row is None:
        return None
    expected = _mac(conn, row.workspace_id, purpose, row_id)
    return row if hmac.compare_digest(expected, raw[-_MAC_BYTES:]) else None
