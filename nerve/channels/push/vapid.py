"""VAPID (RFC 8292): the workspace's application-server key pair that every Web Push message is
signed with. The private key is the secret `push.vapid_private_key`; the public key is what a
browser subscribes with (`applicationServerKey`), served to the heads.

A push service ties each subscription to the public key it was made with, so a new key pair
orphans every subscription: `nerve push vapid` makes one only where there is none.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid  # type: ignore[import-untyped]
from sqlalchemy import Connection

from nerve.errors import NotFound
from nerve.secrets import service as secrets
from nerve.secrets.vault import Vault

SECRET = "push.vapid_private_key"
# RFC 8292 §2: a token's `exp` is at most 24 hours ahead. A token is used for half its life,
# so one signature serves every message to a push service for six hours.
TOKEN_SECONDS = 12 * 3600
REUSE_SECONDS = 6 * 3600
NO_KEY = "no VAPID key for Web Push: run `nerve push vapid` (docs/channels.md)"
# RFC 8292 §2.1: the `sub` is a contact for the push service's operator.
_SUBJECT = re.compile(r"mailto:[^@\s]+@[^@\s]+\.[^@\s]+|https://[^\s/]+\.[^\s]+")


def valid_subject(subject: str) -> bool:
    return _SUBJECT.fullmatch(subject) is not None


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def b64url_decode(text: str) -> bytes:
    """Base64url with or without padding (browsers send it without); ValueError if it is not."""
    cleaned = text.strip()
    return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))


def generate() -> str:
    """A new private key as Web Push libraries write it: its 32-byte scalar in base64url."""
    key = ec.generate_private_key(ec.SECP256R1())
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def load(text: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key: the 32-byte base64url scalar, PEM, or base64 DER (what other Web
    Push set-ups keep); ValueError otherwise."""
    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(stripped.encode(), password=None)
    else:
        raw = b64url_decode(stripped.replace("\n", ""))
        if len(raw) == 32:
            key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
        else:
            key = serialization.load_der_private_key(raw, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("a VAPID key is a P-256 (prime256v1) EC key")
    return key


def public_key(text: str) -> str:
    """The public key for `applicationServerKey`: the uncompressed point in base64url."""
    point = (
        load(text)
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return b64url(point)


def stored_public_key(conn: Connection, vault: Vault, workspace_id: str) -> str:
    """The workspace's public key; NotFound when it has no key pair yet."""
    private = secrets.reveal(conn, vault, workspace_id, SECRET)
    if private is None:
        raise NotFound(NO_KEY)
    return public_key(private)


@dataclass
class _Token:
    header: str
    until: float


class Signer:
    """Signs the VAPID header of one key for each push service (its origin is the token's
    `aud`), reusing a token while it is young: an ECDSA signature per message would cost more
    than the message's encryption."""

    def __init__(self, private_key: str, subject: str) -> None:
        self._vapid = Vapid(load(private_key), conf={"no-strict": True})  # checked: valid_subject
        self.subject = subject
        self._tokens: dict[str, _Token] = {}
        self._lock = threading.Lock()

    def authorization(self, audience: str) -> str:
        now = time.time()
        with self._lock:
            token = self._tokens.get(audience)
            if token is not None and token.until > now:
                return token.header
        claims = {"aud": audience, "sub": self.subject, "exp": int(now) + TOKEN_SECONDS}
        header = str(self._vapid.sign(claims)["Authorization"])
        with self._lock:
            self._tokens[audience] = _Token(header, now + REUSE_SECONDS)
        return header


class Signers:
    """One `Signer` per workspace key, made again when the key changes."""

    def __init__(self, subject: str) -> None:
        self.subject = subject
        self._signers: dict[tuple[str, str], Signer] = {}

    def of(self, workspace_id: str, private_key: str) -> Signer:
        fingerprint = hashlib.sha256(private_key.encode()).hexdigest()
        signer = self._signers.get((workspace_id, fingerprint))
        if signer is None:
            signer = self._signers[(workspace_id, fingerprint)] = Signer(private_key, self.subject)
        return signer
