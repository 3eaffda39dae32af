"""DKIM: a signing key per sending domain, kept as the secret `dkim.<domain>`, and the DNS
records a shop publishes so receivers trust its mail (SPF, DKIM, DMARC)."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass

import dkim  # type: ignore[import-untyped]  # dkimpy ships no type hints
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Connection

from nerve.secrets import service as secrets
from nerve.secrets.vault import Vault

# Headers a signature covers: what a forger would change (and the unsubscribe headers Gmail
# reads only when they are signed).
SIGNED_HEADERS = [
    b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type",
    b"list-unsubscribe", b"list-unsubscribe-post", b"list-id",
]  # fmt: skip
_CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class SigningKey:
    domain: str
    selector: str
    private_key: bytes  # PEM


def secret_name(domain: str) -> str:
    return f"dkim.{domain.lower()}"


def generate(domain: str, selector: str) -> SigningKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return SigningKey(domain.lower(), selector, pem)


def stored(key: SigningKey) -> str:
    return json.dumps({"selector": key.selector, "private_key": key.private_key.decode()})


def records(key: SigningKey, smtp_host: str | None) -> dict[str, str]:
    """The TXT records to publish: name → value."""
    private = serialization.load_pem_private_key(key.private_key, password=None)
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    sender = f"a:{smtp_host} " if smtp_host and not smtp_host.startswith("127.") else ""
    return {
        f"{key.domain}": f"v=spf1 {sender}mx ~all",
        f"{key.selector}._domainkey.{key.domain}":
            f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}",
        f"_dmarc.{key.domain}": f"v=DMARC1; p=none; rua=mailto:dmarc@{key.domain}; adkim=r; aspf=r",
    }  # fmt: skip


class Signer:
    """Signs outgoing mail with the From domain's key, when the shop made one."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self._keys: dict[tuple[str, str], tuple[float, SigningKey | None]] = {}

    def sign(self, conn: Connection, workspace_id: str, domain: str, raw: bytes) -> bytes:
        key = self._key(conn, workspace_id, domain)
        if key is None:
            return raw
        signature = dkim.sign(
            raw, key.selector.encode(), key.domain.encode(), key.private_key,
            canonicalize=(b"relaxed", b"relaxed"), include_headers=SIGNED_HEADERS,
        )  # fmt: skip
        return bytes(signature) + raw

    def _key(self, conn: Connection, workspace_id: str, domain: str) -> SigningKey | None:
        cached = self._keys.get((workspace_id, domain))
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        value = None
        if self.vault.configured:
            value = secrets.reveal(conn, self.vault, workspace_id, secret_name(domain))
        key = None
        if value is not None:
            data = json.loads(value)
            key = SigningKey(domain.lower(), data["selector"], data["private_key"].encode())
        self._keys[(workspace_id, domain)] = (time.monotonic() + _CACHE_SECONDS, key)
        return key
