"""Standard Webhooks signatures (https://www.standardwebhooks.com/, "Signature scheme").

A secret is `whsec_` and the base64 of 24 to 64 random bytes; the signature of a request is
`v1,` and the base64 of HMAC-SHA256, keyed with those bytes, of `{webhook-id}.{webhook-timestamp}.
{body}` — the body exactly as sent. Several signatures, separated by spaces, are all valid: a
receiver accepts the request if any of them matches, which is how a secret is rotated without a
moment where the receiver refuses what Nerve sends.

Signed here with the standard library (a dozen lines) rather than the `standardwebhooks`
package: Nerve needs no dependency for it, and the tests verify with that package, an
implementation that shares no code with this one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence

PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec asks for 24 to 64


class InvalidSecret(ValueError):
    """Not a `whsec_…` secret of 24 to 64 bytes."""


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def key_of(secret: str) -> bytes:
    """The HMAC key a `whsec_…` secret stands for."""
    if not secret.startswith(PREFIX):
        raise InvalidSecret("a signing secret starts with whsec_")
    try:
        key = base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except binascii.Error:
        raise InvalidSecret("a signing secret is whsec_ and base64") from None
    if not 24 <= len(key) <= 64:
        raise InvalidSecret("a signing secret holds 24 to 64 bytes")
    return key


def signature(secrets_: Sequence[str], message_id: str, timestamp: str, body: bytes) -> str:
    """The `webhook-signature` header: one `v1,<base64>` per secret, newest first."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.digest(key_of(s), signed, hashlib.sha256)).decode()
        for s in secrets_
    )
