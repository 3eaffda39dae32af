"""Turn Segment Tracking API messages into event rows, or say precisely why not.

Pure functions, no I/O: the hot path of ingestion. Field names follow the Segment spec
(https://segment.com/docs/connections/spec/common/).
"""

from __future__ import annotations

import re
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from nerve import numbers
from nerve.errors import Rejected

EVENT_TYPES = frozenset({"identify", "track", "page", "screen", "group", "alias"})
# Full and analytics.js short paths under /v1/.
SINGLE_PATHS = {
    "identify": "identify",
    "i": "identify",
    "track": "track",
    "t": "track",
    "page": "page",
    "p": "page",
    "screen": "screen",
    "s": "screen",
    "group": "group",
    "g": "group",
    "alias": "alias",
    "a": "alias",
}
BATCH_PATHS = frozenset({"batch", "b", "import"})
# Column widths in the events table; longer values are rejected, never truncated.
MAX_ID_LENGTH = 255
# Objects and arrays nest at most this deep in one message (the message itself is level 1):
# every API that shows an event must be able to serialise it again, and serialisers stop at
# some depth (orjson at 255).
MAX_DEPTH = 32
# A NUL character as JSON writes it: `\u0000` not preceded by an escaping backslash (the
# six-character text `\\u0000` holds no NUL).
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_NAMESPACE = uuid.UUID("6f1d2c36-52a3-4c38-9f38-5b0d3b7f1e55")


@dataclass(frozen=True)
class Limits:
    max_event_bytes: int
    max_request_bytes: int
    max_batch_events: int


def decode_body(raw: bytes, content_encoding: str | None, limit: int) -> bytes:
    """Undo `Content-Encoding: gzip`, refusing anything that inflates past `limit`."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise Rejected("unsupported_encoding", f"Content-Encoding {encoding!r} is not supported")
    wbits = 47 if encoding != "deflate" else 15  # 47: gzip or zlib header, detected
    inflater = zlib.decompressobj(wbits)
    try:
        body = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise Rejected("invalid_encoding", f"body is not valid {encoding}: {exc}") from exc
    if len(body) > limit or inflater.unconsumed_tail:
        raise Rejected("request_too_large", f"body exceeds {limit} bytes")
    return body


def parse_json_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        raise Rejected("invalid_json", "the body is empty; send a JSON object")
    try:
        data = numbers.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Rejected("invalid_json", f"the body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise Rejected("invalid_json", "the body must be a JSON object")
    return data


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_time(value: Any, field: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Rejected("invalid_timestamp", f"{field} must be an ISO 8601 string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Rejected("invalid_timestamp", f"{field} is not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        # In UTC now: 0001-01-01T00:00:00+01:00 lies in year 0, which no datetime can hold.
        return moment.astimezone(UTC)
    except OverflowError:
        raise Rejected("invalid_timestamp", f"{field} is out of range: {value!r}") from None


def _identifier(value: Any, field: str) -> str | None:
    """Segment ids are strings; numbers are accepted and stringified; null and "" are absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Rejected("invalid_identifier", f"{field} must be a string")
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_ID_LENGTH:
        raise Rejected("invalid_identifier", f"{field} is longer than {MAX_ID_LENGTH} characters")
    return text


def _object_field(message: dict[str, Any], field: str) -> None:
    value = message.get(field)
    if value is not None and not isinstance(value, dict):
        raise Rejected("invalid_field", f"{field} must be an object")


def _message_id(message: dict[str, Any], source_id: str) -> str:
    given = _identifier(message.get("messageId"), "messageId")
    if given is not None:
        return given
    # A retried message without messageId would be stored twice with a random id. When the
    # client stamped the message with its own time, the content identifies it: derive the id.
    if message.get("originalTimestamp") or message.get("timestamp"):
        digest = numbers.dumps(
            {k: v for k, v in message.items() if k not in ("sentAt", "writeKey")},
            option=orjson.OPT_SORT_KEYS,
        )
        return str(uuid.uuid5(_NAMESPACE, source_id + digest.decode()))
    return str(uuid.uuid4())


def _event_time(
    original: datetime | None, sent_at: datetime | None, received_at: datetime
) -> datetime:
    """Correct the device clock as Segment does: receivedAt - (sentAt - originalTimestamp)."""
    if original is None:
        return received_at
    if sent_at is None:
        return original
    try:
        return received_at - (sent_at - original)
    except OverflowError:
        raise Rejected("invalid_timestamp", "timestamp is out of range") from None


def _too_deep() -> Rejected:
    return Rejected(
        "too_deeply_nested", f"objects and arrays may nest at most {MAX_DEPTH} levels deep"
    )


def _check_depth(document: bytes, payload: dict[str, Any]) -> None:
    # Counting brackets is cheap; only a message that could nest too deep is walked.
    if document.count(b"{") + document.count(b"[") > MAX_DEPTH and _deeper_than(payload, MAX_DEPTH):
        raise _too_deep()


def _deeper_than(message: dict[str, Any], limit: int) -> bool:
    pending: list[tuple[Any, int]] = [(message, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > limit:
            return True
        for item in value.values() if isinstance(value, dict) else value:
            if isinstance(item, dict | list):
                pending.append((item, depth + 1))
    return False


@dataclass
class Envelope:
    """What one request contributes to each of its messages (parsed and formatted once)."""

    workspace_id: str
    source_id: str
    received_at: datetime
    sent_at: Any = None
    context: dict[str, Any] | None = None
    integrations: dict[str, Any] | None = None
    received_text: str = field(init=False)
    batch_sent_at: datetime | None = field(init=False)

    def __post_init__(self) -> None:
        self.received_text = format_time(self.received_at)
        self.batch_sent_at = _parse_time(self.sent_at, "sentAt")


def normalize(
    message: Any, type_: str | None, envelope: Envelope, max_bytes: int
) -> dict[str, Any]:
    """One message to one event row; raises `Rejected` with the reason it cannot be stored."""
    return normalize_message(message, type_, envelope, max_bytes)[0]


def normalize_message(
    message: Any, type_: str | None, envelope: Envelope, max_bytes: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One message to its event row and its normalised payload (as stored in the row)."""
    if not isinstance(message, dict):
        raise Rejected("invalid_message", "each message must be a JSON object")
    kind = type_ or message.get("type")
    if not isinstance(kind, str) or kind not in EVENT_TYPES:
        raise Rejected(
            "invalid_type",
            f"type must be one of {', '.join(sorted(EVENT_TYPES))}; got {kind!r}",
        )
    user_id = _identifier(message.get("userId"), "userId")
    anonymous_id = _identifier(message.get("anonymousId"), "anonymousId")
    if user_id is None and anonymous_id is None:
        raise Rejected("no_user_anon_id", "either userId or anonymousId is required")
    event_name = message.get("event")
    if kind == "track":
        if not isinstance(event_name, str) or not event_name.strip():
            raise Rejected("missing_event", "track calls need an event name in `event`")
        if len(event_name) > MAX_ID_LENGTH:
            raise Rejected("invalid_event", f"event is longer than {MAX_ID_LENGTH} characters")
    else:
        event_name = None
    if kind == "alias" and _identifier(message.get("previousId"), "previousId") is None:
        raise Rejected("missing_previous_id", "alias calls need `previousId`")
    if kind == "group" and _identifier(message.get("groupId"), "groupId") is None:
        raise Rejected("missing_group_id", "group calls need `groupId`")
    for name in ("properties", "traits", "context", "integrations"):
        _object_field(message, name)

    original = _parse_time(
        message.get("originalTimestamp") or message.get("timestamp"), "timestamp"
    )
    own_sent_at = message.get("sentAt")
    sent_at = _parse_time(own_sent_at, "sentAt") if own_sent_at else envelope.batch_sent_at
    timestamp = _event_time(original, sent_at, envelope.received_at)

    payload = dict(message)
    payload.pop("writeKey", None)
    payload["type"] = kind
    payload["messageId"] = message_id = _message_id(message, envelope.source_id)
    payload["userId"] = user_id
    payload["anonymousId"] = anonymous_id
    if envelope.context:
        payload["context"] = {**envelope.context, **(message.get("context") or {})}
    if envelope.integrations:
        payload["integrations"] = {**envelope.integrations, **(message.get("integrations") or {})}
    payload["originalTimestamp"] = format_time(original) if original else None
    payload["sentAt"] = format_time(sent_at) if sent_at else None
    payload["receivedAt"] = envelope.received_text
    payload["timestamp"] = format_time(timestamp)

    try:
        document = numbers.dumps(payload)
    except TypeError as exc:
        if "recursion" in str(exc).lower():  # nested past orjson's limit, far past ours
            raise _too_deep() from exc
        raise Rejected("invalid_message", f"message cannot be stored: {exc}") from exc
    if len(document) > max_bytes:
        raise Rejected("event_too_large", f"message is larger than {max_bytes} bytes")
    _check_depth(document, payload)
    if b"\\u0000" in document and _NUL_ESCAPE.search(document):
        # PostgreSQL text and JSONB cannot hold NUL characters.
        raise Rejected("invalid_character", "message contains a NUL (\\u0000) character")
    return {
        "workspace_id": envelope.workspace_id,
        "source_id": envelope.source_id,
        "message_id": message_id,
        "type": kind,
        "event": event_name,
        "user_id": user_id,
        "anonymous_id": anonymous_id,
        "timestamp": timestamp,
        "received_at": envelope.received_at,
        "payload": document.decode(),
    }, payload
