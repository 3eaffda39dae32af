"""Tokens in the links of a mail (unsubscribe, preferences, confirmation, opens, clicks):
opaque, signed with the workspace's key, naming one message log row (and for a click, which of
its links) — never a guessable id.

A token is base64url(payload + the first 16 bytes of HMAC-SHA256(key, purpose + payload)), the
payload being the row id, or `row id.part`; a forged or altered one finds nothing, and a 404
says no more than that.
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


def token(conn: Connection, workspace_id: str, purpose: str, row_id: str, part: str = "") -> str:
    payload = f"{row_id}.{part}" if part else row_id
    raw = payload.encode() + _mac(conn, workspace_id, purpose, payload)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def verify(conn: Connection, purpose: str, presented: str) -> Any:
    """The message row a genuine token names; None for anything else."""
    found = verify_part(conn, purpose, presented)
    return None if found is None or found[1] else found[0]


def verify_part(conn: Connection, purpose: str, presented: str) -> tuple[Any, str] | None:
    """The message row and the part (a link's index) a genuine token names; None for
    anything else."""
    try:
        raw = base64.urlsafe_b64decode(presented + "=" * (-len(presented) % 4))
    except (ValueError, TypeError):
        return None
    if len(raw) <= _MAC_BYTES or len(presented) > 200:
        return None
    try:
        payload = raw[:-_MAC_BYTES].decode("ascii")
    except UnicodeDecodeError:
        return None
    row_id, _, part = payload.partition(".")
    row = conn.execute(select(Message).where(Message.id == row_id)).first()
    if row is None:
        return None
    expected = _mac(conn, row.workspace_id, purpose, payload)
    return (row, part) if hmac.compare_digest(expected, raw[-_MAC_BYTES:]) else None
