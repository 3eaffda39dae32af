"""Normalisation of Segment messages: validation, clock-skew correction, ids, merging."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nerve.tracking.normalize import Envelope, Rejected, decode_body, normalize

RECEIVED = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
ENVELOPE = Envelope("ws_1", "src_1", RECEIVED)
MAX = 32 * 1024


def _payload(row: dict[str, Any]) -> dict[str, Any]:
    return orjson.loads(row["payload"])  # type: ignore[no-any-return]


def _reject_code(message: Any, type_: str | None = "track", envelope: Envelope = ENVELOPE) -> str:
    with pytest.raises(Rejected) as caught:
        normalize(message, type_, envelope, MAX)
    return caught.value.code


def _nested(levels: int) -> Any:
    value: Any = "deep"
    for level in range(levels):
        value = {"n": value} if (levels - level) % 2 else [value]  # properties: an object
    return value


def test_nesting_up_to_the_limit_is_kept() -> None:
    # The message is level 1, properties level 2: 31 levels below them reach 32.
    row = normalize(
        {"userId": "u", "event": "E", "properties": _nested(31)}, "track", ENVELOPE, MAX
    )
    assert _payload(row)["properties"] == _nested(31)


def test_the_text_of_an_escaped_nul_is_not_a_nul() -> None:
    text = "\\u0000 is how JSON writes a NUL"
    row = normalize(
        {"userId": "u", "event": "E", "properties": {"t": text}}, "track", ENVELOPE, MAX
    )
    assert _payload(row)["properties"]["t"] == text


def test_device_clock_skew_is_corrected_like_segment() -> None:
    # The device clock is 1 hour behind: it stamped the event at 10:59:50 and sent at 10:59:55.
    message = {
        "userId": "u1",
        "event": "Product Viewed",
        "timestamp": "2026-11-22T10:59:50Z",
        "sentAt": "2026-11-22T10:59:55Z",
    }
    row = normalize(message, "track", ENVELOPE, MAX)
    assert row["timestamp"] == datetime(2026, 11, 22, 11, 59, 55, tzinfo=UTC)
    payload = _payload(row)
    assert payload["originalTimestamp"] == "2026-11-22T10:59:50.000Z"
    assert payload["sentAt"] == "2026-11-22T10:59:55.000Z"
    assert payload["receivedAt"] == "2026-11-22T12:00:00.000Z"
    assert payload["timestamp"] == "2026-11-22T11:59:55.000Z"


def test_batch_level_sent_at_applies_to_every_item() -> None:
    envelope = Envelope("ws_1", "src_1", RECEIVED, sent_at="2026-11-22T12:00:10+00:00")
    row = normalize(
        {"type": "track", "userId": "u", "event": "E", "timestamp": "2026-11-22T12:00:00Z"},
        None,
        envelope,
        MAX,
    )
    assert row["timestamp"] == datetime(2026, 11, 22, 11, 59, 50, tzinfo=UTC)


def test_without_sent_at_the_client_timestamp_is_kept_and_without_any_received_at() -> None:
    stamped = normalize(
        {"userId": "u", "event": "E", "timestamp": "2026-01-01T00:00:00"}, "track", ENVELOPE, MAX
    )
    assert stamped["timestamp"] == datetime(2026, 1, 1, tzinfo=UTC)
    unstamped = normalize({"userId": "u", "event": "E"}, "track", ENVELOPE, MAX)
    assert unstamped["timestamp"] == RECEIVED


@pytest.mark.parametrize(
    "ids", [{}, {"userId": None}, {"userId": None, "anonymousId": None}, {"userId": ""}]
)
def test_without_user_or_anonymous_id_the_message_is_rejected(ids: dict[str, Any]) -> None:
    assert _reject_code({"event": "E", **ids}) == "no_user_anon_id"


def test_numeric_ids_are_stringified() -> None:
    row = normalize({"userId": 42, "event": "E"}, "track", ENVELOPE, MAX)
    assert row["user_id"] == "42"
    assert _payload(row)["userId"] == "42"


@pytest.mark.parametrize(
    ("message", "type_", "code"),
    [
        ({"userId": "u"}, "track", "missing_event"),
        ({"userId": "u", "event": ""}, "track", "missing_event"),
        ({"userId": "u", "event": 5}, "track", "missing_event"),
        ({"userId": "u", "type": "purchase"}, None, "invalid_type"),
        ({"userId": "u"}, "alias", "missing_previous_id"),
        ({"userId": "u"}, "group", "missing_group_id"),
        ({"userId": {"id": 1}, "event": "E"}, "track", "invalid_identifier"),
        ({"userId": "u", "event": "E", "properties": [1]}, "track", "invalid_field"),
        ({"userId": "u", "event": "E", "timestamp": "yesterday"}, "track", "invalid_timestamp"),
        ({"userId": "u", "event": "E", "timestamp": 1700000000}, "track", "invalid_timestamp"),
        # In UTC these fall outside years 1-9999: a clear rejection, not a server error.
        (
            {"userId": "u", "event": "E", "timestamp": "0001-01-01T00:00:00+23:59"},
            "track",
            "invalid_timestamp",
        ),
        (
            {"userId": "u", "event": "E", "timestamp": "9999-12-31T23:59:59-01:00"},
            "track",
            "invalid_timestamp",
        ),
        (
            {"userId": "u", "event": "E", "sentAt": "0001-01-01T00:00:00+01:00"},
            "track",
            "invalid_timestamp",
        ),
        ({"userId": "x" * 256, "event": "E"}, "track", "invalid_identifier"),
        ({"userId": "u", "event": "E\u0000"}, "track", "invalid_character"),
        (
            {"userId": "u", "event": "E", "properties": {"a": "\\\u0000"}},
            "track",
            "invalid_character",
        ),  # an escaped backslash, then a NUL
        ({"userId": "u", "event": "E", "properties": _nested(32)}, "track", "too_deeply_nested"),
        ({"userId": "u", "event": "E", "properties": _nested(250)}, "track", "too_deeply_nested"),
        ([1, 2], "track", "invalid_message"),
    ],
)
def test_invalid_messages_are_rejected_with_a_precise_code(
    message: Any, type_: str | None, code: str
) -> None:
    assert _reject_code(message, type_) == code


def test_oversized_event_is_rejected_as_too_large() -> None:
    with pytest.raises(Rejected) as caught:
        normalize(
            {"userId": "u", "event": "E", "properties": {"x": "y" * MAX}}, "track", ENVELOPE, MAX
        )
    assert (caught.value.code, caught.value.status) == ("event_too_large", 413)


def test_path_type_wins_and_write_key_is_not_stored() -> None:
    row = normalize(
        {"type": "identify", "userId": "u", "event": "E", "writeKey": "secret"},
        "track",
        ENVELOPE,
        MAX,
    )
    payload = _payload(row)
    assert row["type"] == payload["type"] == "track"
    assert "writeKey" not in payload


def test_batch_context_is_merged_item_context_wins() -> None:
    envelope = Envelope(
        "ws_1",
        "src_1",
        RECEIVED,
        context={"ip": "1.1.1.1", "locale": "de-DE"},
        integrations={"All": False},
    )
    row = normalize(
        {"type": "track", "userId": "u", "event": "E", "context": {"ip": "2.2.2.2"}},
        None,
        envelope,
        MAX,
    )
    payload = _payload(row)
    assert payload["context"] == {"ip": "2.2.2.2", "locale": "de-DE"}
    assert payload["integrations"] == {"All": False}


def test_message_id_is_kept_or_generated() -> None:
    assert (
        normalize({"userId": "u", "event": "E", "messageId": "m-1"}, "track", ENVELOPE, MAX)[
            "message_id"
        ]
        == "m-1"
    )
    first = normalize({"userId": "u", "event": "E"}, "track", ENVELOPE, MAX)["message_id"]
    second = normalize({"userId": "u", "event": "E"}, "track", ENVELOPE, MAX)["message_id"]
    assert first and second and first != second


def test_a_client_stamped_message_without_id_gets_the_same_id_when_resent() -> None:
    message = {
        "userId": "u",
        "event": "E",
        "timestamp": "2026-11-22T10:00:00Z",
        "sentAt": "2026-11-22T10:00:01Z",
    }
    resent = {**message, "sentAt": "2026-11-22T10:05:00Z"}
    assert (
        normalize(message, "track", ENVELOPE, MAX)["message_id"]
        == normalize(resent, "track", ENVELOPE, MAX)["message_id"]
    )
    other_source = Envelope("ws_1", "src_2", RECEIVED)
    assert (
        normalize(message, "track", ENVELOPE, MAX)["message_id"]
        != normalize(message, "track", other_source, MAX)["message_id"]
    )


def test_gzip_bodies_are_inflated_and_bombs_refused() -> None:
    body = b'{"userId":"u"}'
    assert decode_body(gzip.compress(body), "gzip", 1000) == body
    bomb = gzip.compress(b"0" * 10_000_000)
    with pytest.raises(Rejected) as caught:
        decode_body(bomb, "gzip", 500_000)
    assert caught.value.status == 413
    with pytest.raises(Rejected) as caught:
        decode_body(b"not gzip", "gzip", 1000)
    assert caught.value.code == "invalid_encoding"
    with pytest.raises(Rejected) as caught:
        decode_body(body, "br", 1000)
    assert caught.value.code == "unsupported_encoding"


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
_field_values = st.one_of(_json, st.sampled_from(["2026-01-01T00:00:00Z", "u1", "", None]))
_messages = st.dictionaries(
    st.sampled_from(
        [
            "type",
            "userId",
            "anonymousId",
            "event",
            "messageId",
            "timestamp",
            "sentAt",
            "originalTimestamp",
            "properties",
            "traits",
            "context",
            "previousId",
            "groupId",
        ]
    ),
    _field_values,
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(
    message=_messages, type_=st.sampled_from([None, "track", "identify", "alias", "group", "page"])
)
def test_any_json_either_normalises_to_a_storable_row_or_is_rejected(
    message: dict[str, Any], type_: str | None
) -> None:
    try:
        row = normalize(message, type_, ENVELOPE, MAX)
    except Rejected as exc:
        assert exc.code and exc.message and exc.status in (400, 413)
        return
    assert row["user_id"] or row["anonymous_id"]
    assert row["type"] in {"identify", "track", "page", "screen", "group", "alias"}
    assert isinstance(row["message_id"], str) and 0 < len(row["message_id"]) <= 255
    assert row["timestamp"].tzinfo is not None
    assert orjson.loads(row["payload"])["messageId"] == row["message_id"]
