"""Ingestion: authenticate the head, normalise its messages, hand them to the group committer."""

from __future__ import annotations

import base64
import binascii
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from nerve import metrics
from nerve.errors import Rejected, RejectionCode
from nerve.events.writer import EventWriter
from nerve.privacy.suppression import Suppressed, is_sign_up
from nerve.tracking.normalize import (
    BATCH_PATHS,
    SINGLE_PATHS,
    Envelope,
    Limits,
    decode_body,
    normalize_message,
    parse_json_object,
)
from nerve.workspaces.service import SourceInfo, find_source_by_write_key

# How stale a cached write key may be: a revoked or rotated key is refused by every server
# process within this time, since a revocation is a database write no other process hears of.
# At one read per key per process per second the hot path barely notices (bench/tracking.py:
# figures in the commit that set it).
_CACHE_SECONDS = 1.0


@dataclass
class IngestResult:
    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    # Messages dropped because they carry an erased person's user id, email or phone.
    suppressed: int = 0
    # Erased identifiers whose owner signed up again: no longer suppressed once stored.
    consented: list[tuple[str, str]] = field(default_factory=list)

    def keeps(self, payload: dict[str, Any], suppressed: Suppressed) -> bool:
        erased = suppressed.erased_in(payload)
        if not erased or all(item in self.consented for item in erased):
            return True
        if is_sign_up(payload):
            self.consented.extend(item for item in erased if item not in self.consented)
            return True
        self.suppressed += 1
        metrics.EVENTS_SUPPRESSED.inc()
        return False


class WriteKeys:
    """Write key → source (None: unknown or revoked), cached for at most `_CACHE_SECONDS`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._cache: dict[str, tuple[float, SourceInfo | None]] = {}

    def cached(self, write_key: str) -> tuple[bool, SourceInfo | None]:
        hit = self._cache.get(write_key)
        if hit is not None and hit[0] > time.monotonic():
            return True, hit[1]
        return False, None

    def load(self, write_key: str) -> SourceInfo | None:
        # The entry's age counts from before the read, so it never outlives the state it saw
        # by more than _CACHE_SECONDS, however long the read took.
        read_at = time.monotonic()
        with self._engine.connect() as conn:
            source = find_source_by_write_key(conn, write_key)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[write_key] = (read_at + _CACHE_SECONDS, source)
        return source


def write_key_from_basic_auth(header: str | None) -> str | None:
    """Segment sends the write key as the Basic-auth username with an empty password."""
    if not header:
        return None
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise Rejected("invalid_authorization", "malformed Basic credentials") from None
    return decoded.partition(":")[0] or None


def read_request(
    path: str, raw: bytes, content_encoding: str | None, limits: Limits
) -> tuple[bool, dict[str, Any]]:
    """Decode and parse a tracking request body; returns (is_batch, body)."""
    is_batch = path in BATCH_PATHS
    if not is_batch and path not in SINGLE_PATHS:
        raise Rejected("not_found", f"/v1/{path} is not a tracking endpoint")
    limit = limits.max_request_bytes if is_batch else limits.max_event_bytes
    code: RejectionCode = "request_too_large" if is_batch else "event_too_large"
    if len(raw) > limit:
        raise Rejected(code, f"the body exceeds {limit} bytes")
    try:
        body = decode_body(raw, content_encoding, limit)
    except Rejected as exc:
        if exc.status == 413:
            raise Rejected(code, exc.message) from None
        raise
    return is_batch, parse_json_object(body)


def build_rows(
    path: str,
    is_batch: bool,
    body: dict[str, Any],
    source: SourceInfo,
    received_at: datetime,
    limits: Limits,
    suppressed: Suppressed,
) -> tuple[list[dict[str, Any]], IngestResult]:
    """Normalise every message; bad ones are reported, those of erased people dropped, the
    others returned for storage."""
    result = IngestResult()
    if not is_batch:
        envelope = Envelope(source.workspace_id, source.id, received_at)
        row, payload = normalize_message(body, SINGLE_PATHS[path], envelope, limits.max_event_bytes)
        return ([row] if result.keeps(payload, suppressed) else []), result
    items = body.get("batch")
    if not isinstance(items, list):
        raise Rejected("invalid_batch", "`batch` must be an array of messages")
    if not items:
        raise Rejected("invalid_batch", "`batch` is empty")
    if len(items) > limits.max_batch_events:
        raise Rejected(
            "too_many_events", f"a batch holds at most {limits.max_batch_events} messages"
        )
    context, integrations = body.get("context"), body.get("integrations")
    if context is not None and not isinstance(context, dict):
        raise Rejected("invalid_field", "batch `context` must be an object")
    if integrations is not None and not isinstance(integrations, dict):
        raise Rejected("invalid_field", "batch `integrations` must be an object")
    envelope = Envelope(
        source.workspace_id, source.id, received_at, body.get("sentAt"), context, integrations
    )
    rows = []
    for index, item in enumerate(items):
        try:
            row, payload = normalize_message(item, None, envelope, limits.max_event_bytes)
        except Rejected as exc:
            message_id = item.get("messageId") if isinstance(item, dict) else None
            result.rejected.append(
                {
                    "index": index,
                    "messageId": message_id,
                    "error": {"code": exc.code, "message": exc.message},
                }
            )
            metrics.EVENTS_REJECTED.labels(exc.code).inc()
            continue
        if result.keeps(payload, suppressed):
            rows.append(row)
    return rows, result


async def store(writer: EventWriter, rows: list[dict[str, Any]], result: IngestResult) -> None:
    await writer.write(rows)
    result.accepted = len(rows)
    for event_type, count in Counter(row["type"] for row in rows).items():
        metrics.EVENTS_ACCEPTED.labels(event_type).inc(count)
