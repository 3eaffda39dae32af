"""The cart's two tokens: the cart token a head sends with its write key to reach its own cart,
and the resume token of a mail's `/r/TOKEN` link, which also carries when it expires.

Both are base64url(payload + the first 16 bytes of HMAC-SHA256(key, purpose + payload)) with
the workspace's key, as the mail's links are (nerve/channels/links.py); the payload is the
cart's id (an unguessable `cart_…`), and for a resume token `id.expiry` in Unix seconds. A
forged or altered token names nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection

from nerve.workspaces import service as workspaces

_MAC_BYTES = 16
_LONGEST = 200
CART, RESUME = "cart", "resume"


def _mac(conn: Connection, workspace_id: str, purpose: str, payload: str) -> bytes:
    key = hmac.new(workspaces.hash_key(conn, workspace_id), b"carts", hashlib.sha256).digest()
    return hmac.new(key, f"{purpose}:{payload}".encode(), hashlib.sha256).digest()[:_MAC_BYTES]


def sign(conn: Connection, workspace_id: str, purpose: str, payload: str) -> str:
    raw = payload.encode() + _mac(conn, workspace_id, purpose, payload)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def cart_token(conn: Connection, workspace_id: str, cart_id: str) -> str:
    return sign(conn, workspace_id, CART, cart_id)


def resume_token(conn: Connection, workspace_id: str, cart_id: str, expires_at: datetime) -> str:
    return sign(conn, workspace_id, RESUME, f"{cart_id}.{int(expires_at.timestamp())}")


@dataclass(frozen=True)
class Presented:
    """What a token claims, before its signature is checked against the cart's workspace."""

    cart_id: str
    expires_at: datetime | None
    payload: str
    mac: bytes

    def genuine(self, conn: Connection, workspace_id: str, purpose: str) -> bool:
        expected = _mac(conn, workspace_id, purpose, self.payload)
        return hmac.compare_digest(expected, self.mac)


def read(presented: str, purpose: str) -> Presented | None:
    """The claim of a well-formed token; None for anything that cannot be one."""
    if not presented or len(presented) > _LONGEST:
        return None
    try:
        raw = base64.urlsafe_b64decode(presented + "=" * (-len(presented) % 4))
        payload = raw[:-_MAC_BYTES].decode("ascii")
    except (ValueError, TypeError, UnicodeDecodeError):
        return None
    if len(raw) <= _MAC_BYTES:
        return None
    if purpose == CART:
        return Presented(payload, None, payload, raw[-_MAC_BYTES:])
    cart_id, _, expiry = payload.partition(".")
    if not expiry.isdigit() or len(expiry) > 12:
        return None
    expires_at = datetime.fromtimestamp(int(expiry), UTC)
    return Presented(cart_id, expires_at, payload, raw[-_MAC_BYTES:])
