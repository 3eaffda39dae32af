"""Erased people stay erased: ingest drops events that carry an erased user id, email or phone.

An erasure keeps keyed hashes of the person's user ids, emails and phones (`ErasedIdentifier`);
without a check at ingest, the next event with that email would create the person anew. Each server
process keeps every workspace's hashes in memory, read again when they may have changed, at
most `_CACHE_SECONDS` old (an erasure in this process clears its copy at once), so the check
costs the hot path a set lookup, and nothing at all in a workspace nobody was erased from.

A person who signs up again (a `Signed Up` event, Segment's name for it) consents anew: that
event is kept and their identifiers are no longer suppressed.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, tuple_

from nerve.db.engine import write_transaction
from nerve.identity.extract import normalize_email, normalize_phone, traits_of
from nerve.identity.rules import load_rules
from nerve.privacy.models import ErasedIdentifier
from nerve.workspaces import service as workspaces

_CACHE_SECONDS = 1.0
SIGN_UP_EVENT = "Signed Up"


def identifier_hash(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


# Hashes of identifiers seen recently, per workspace snapshot: a shopper's events repeat them.
_REMEMBERED = 50_000


@dataclass
class Suppressed:
    """One workspace's erased user ids, emails and phones, as (type, keyed hash)."""

    hashes: set[tuple[str, str]] = field(default_factory=set)
    key: bytes = b""
    region: str = "DE"
    _mac: Any = None
    _seen: dict[str, str] = field(default_factory=dict)

    def erased_in(self, payload: dict[str, Any]) -> list[tuple[str, str]]:
        """The erased identifiers this event carries (none, nearly always)."""
        if not self.hashes:
            return []
        traits = traits_of(payload)
        found = []
        if user_id := payload.get("userId"):
            found.append(("user_id", self._hash(str(user_id))))
        if email := normalize_email(traits.get("email")):
            found.append(("email", self._hash(email)))
        if phone := normalize_phone(traits.get("phone"), self.region):
            found.append(("phone", self._hash(phone)))
        return [item for item in found if item in self.hashes]

    def _hash(self, value: str) -> str:
        """`identifier_hash`, from a keyed HMAC prepared once (a copy costs a third of a new
        one), remembered for the identifiers seen recently."""
        digest = self._seen.get(value)
        if digest is None:
            if self._mac is None:
                self._mac = hmac.new(self.key, digestmod=hashlib.sha256)
            mac = self._mac.copy()
            mac.update(value.encode())
            digest = mac.hexdigest()
            if len(self._seen) >= _REMEMBERED:
                self._seen.clear()
            self._seen[value] = digest
        return digest


def is_sign_up(payload: dict[str, Any]) -> bool:
    return payload.get("type") == "track" and payload.get("event") == SIGN_UP_EVENT


def read(conn: Connection, workspace_id: str) -> Suppressed:
    rows = conn.execute(
        select(ErasedIdentifier.type, ErasedIdentifier.hash).where(
            ErasedIdentifier.workspace_id == workspace_id
        )
    ).all()
    if not rows:
        return Suppressed()
    region = load_rules(conn, workspace_id).default_region
    key = workspaces.hash_key(conn, workspace_id)
    return Suppressed({(kind, digest) for kind, digest in rows}, key, region)


def _fingerprint(conn: Connection, workspace_id: str) -> tuple[Any, ...]:
    """What changes when someone is erased or consents anew (a row more, a row less)."""
    row = conn.execute(
        select(func.count(), func.max(ErasedIdentifier.erased_at)).where(
            ErasedIdentifier.workspace_id == workspace_id
        )
    ).one()
    return tuple(row)


class Suppression:
    """Per process: each workspace's `Suppressed`, at most `_CACHE_SECONDS` old.

    When the copy is due, one request reads whether anything changed (a count) while the others
    go on with the old copy; it is read in full only when something did, so the hashes it
    remembers stay warm."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._cache: dict[str, tuple[float, Suppressed, tuple[Any, ...]]] = {}
        self._reading: dict[str, threading.Lock] = {}

    def cached(self, workspace_id: str) -> Suppressed | None:
        hit = self._cache.get(workspace_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return None

    def copy(self, workspace_id: str) -> tuple[Suppressed | None, bool]:
        """The copy this process has (None: none yet, or forgotten after an erasure here) and
        whether it is due to be read again."""
        hit = self._cache.get(workspace_id)
        if hit is None:
            return None, True
        return hit[1], hit[0] <= time.monotonic()

    def load(self, workspace_id: str) -> Suppressed:
        stale = self._cache.get(workspace_id)
        reading = self._reading.setdefault(workspace_id, threading.Lock())
        if not reading.acquire(blocking=stale is None):
            return stale[1]  # type: ignore[index]  # another request is reading: not stale for long
        try:
            if (fresh := self.cached(workspace_id)) is not None:
                return fresh  # read by the request we waited for
            read_at = time.monotonic()  # the copy never outlives what it saw by more than the TTL
            with self._engine.connect() as conn:
                mark = _fingerprint(conn, workspace_id)
                same = stale is not None and stale[2] == mark
                suppressed = stale[1] if stale is not None and same else read(conn, workspace_id)
            self._cache[workspace_id] = (read_at + _CACHE_SECONDS, suppressed, mark)
            return suppressed
        finally:
            reading.release()

    def forget(self, workspace_id: str) -> None:
        """Someone was erased here: read the hashes again before the next event."""
        self._cache.pop(workspace_id, None)

    def consent(self, workspace_id: str, identifiers: list[tuple[str, str]]) -> None:
        """They signed up again: their identifiers are theirs to use once more."""
        with write_transaction(self._engine) as conn:
            conn.execute(
                delete(ErasedIdentifier).where(
                    ErasedIdentifier.workspace_id == workspace_id,
                    tuple_(ErasedIdentifier.type, ErasedIdentifier.hash).in_(identifiers),
                )
            )
        self.forget(workspace_id)
