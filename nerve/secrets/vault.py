"""Encryption of secrets with the keys in NERVE_SECRET_KEY (Fernet: AES-128-CBC + HMAC-SHA256).

Several keys, separated by commas, rotate: the first encrypts, every one decrypts (MultiFernet),
and `nerve secrets rotate` re-encrypts every secret under the first, after which the others can
go. Each plaintext starts with the secret's workspace and name, checked on decryption, so a
ciphertext copied onto another row (someone with write access to the database) is refused
rather than handed to the wrong use.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from nerve.errors import Unavailable

_NO_KEY = (
    "secrets need NERVE_SECRET_KEY: a key from `nerve secrets new-key` (keep it safe: without it "
    "the stored secrets cannot be read)"
)


def new_key() -> str:
    return Fernet.generate_key().decode()


class Vault:
    def __init__(self, keys: str) -> None:
        self._keys = [key.strip() for key in keys.split(",") if key.strip()]
        self._fernet: MultiFernet | None = None

    @property
    def configured(self) -> bool:
        return bool(self._keys)

    @property
    def _cipher(self) -> MultiFernet:
        if not self._keys:
            raise Unavailable(_NO_KEY)
        if self._fernet is None:
            try:
                self._fernet = MultiFernet([Fernet(key) for key in self._keys])
            except ValueError as exc:
                raise Unavailable(
                    "NERVE_SECRET_KEY must be Fernet keys (32 url-safe base64-encoded bytes, "
                    "from `nerve secrets new-key`), separated by commas"
                ) from exc
        return self._fernet

    def encrypt(self, workspace_id: str, name: str, value: str) -> str:
        return self._cipher.encrypt(_bound(workspace_id, name, value)).decode()

    def decrypt(self, workspace_id: str, name: str, ciphertext: str) -> str:
        try:
            plain = self._cipher.decrypt(ciphertext.encode())
        except InvalidToken as exc:
            raise Unavailable(
                f"the secret {name!r} cannot be decrypted with NERVE_SECRET_KEY: it was stored "
                "under a key that is no longer listed"
            ) from exc
        label, _, value = plain.partition(b"\n")
        if label != _label(workspace_id, name):
            raise Unavailable(f"the stored secret {name!r} belongs to another row; set it again")
        return value.decode()

    def rotate(self, ciphertext: str) -> str:
        """The same secret under the first key."""
        return self._cipher.rotate(ciphertext.encode()).decode()


def _label(workspace_id: str, name: str) -> bytes:
    return f"{workspace_id}/{name}".encode()


def _bound(workspace_id: str, name: str, value: str) -> bytes:
    return _label(workspace_id, name) + b"\n" + value.encode()
