"""What the Tracking API accepts, every endpoint that shows it can show, exactly as sent."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from starlette.testclient import TestClient

from nerve import numbers
from tests.exact import exact_values
from tests.factories import Shop
from tests.integration.profiles.test_identity import settle
from tests.waiting import auth

EXACT = (
    b'{"type": "track", "userId": "exact-1", "event": "Order Completed", "properties": '
    b'{"order_no": 123456789012345678901234567890, "total": 0.12345678901234567890,'
    b' "tiny": 1e-400, "quantity": 2, "price": 19.99, "note": "\\\\u0000 is no NUL"}}'
)


def _shown(client: TestClient, shop: Shop, user_id: str) -> list[bytes]:
    """The raw bodies of every endpoint that shows the user's events."""
    events = client.get("/api/v1/events", params={"userId": user_id}, headers=auth(shop))
    person = client.get(
        "/api/v1/profiles", params={"identifier": f"user_id:{user_id}"}, headers=auth(shop)
    )
    assert events.status_code == person.status_code == 200, (events.text, person.text)
    shown = [events.content]
    for path in ("timeline", "export"):
        page = client.get(f"/api/v1/profiles/{person.json()['id']}/{path}", headers=auth(shop))
        assert page.status_code == 200, page.text
        assert page.headers["content-type"] == "application/json"
        shown.append(page.content)
    return shown


def test_numbers_come_back_exactly(client: TestClient, engine: Engine, shop: Shop) -> None:
    sent = client.post("/v1/track", content=EXACT, auth=(shop.write_keys["web"], ""))
    assert sent.status_code == 200, sent.text
    settle(engine)
    for body in _shown(client, shop, "exact-1"):
        for literal in (b"123456789012345678901234567890", b"0.12345678901234567890", b"19.99"):
            assert literal in body
        assert b'"tiny":1E-400' in body
        assert b'"note":"\\\\u0000 is no NUL"' in body  # the text, a backslash and u0000


def test_a_message_nested_250_levels_deep_is_refused_with_its_code(
    client: TestClient, shop: Shop
) -> None:
    deep: Any = {}
    for _ in range(250):
        deep = {"n": deep}
    message = {"userId": "deep-1", "event": "E", "properties": deep}
    response = client.post("/v1/track", json=message, auth=(shop.write_keys["web"], ""))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_deeply_nested"


_values = st.recursive(
    st.none() | st.booleans() | st.text(max_size=8)
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.decimals(allow_nan=False, allow_infinity=False, places=20),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=12,
)  # fmt: skip


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(properties=st.dictionaries(st.text(max_size=5), _values, max_size=4))
def test_any_accepted_event_can_be_read_back_everywhere(
    client: TestClient, engine: Engine, shop: Shop, properties: dict[str, Any]
) -> None:
    user_id = f"any-{uuid.uuid4().hex[:8]}"
    message = {"type": "track", "userId": user_id, "event": "E", "properties": properties}
    body = numbers.dumps(message)
    sent = client.post("/v1/track", content=body, auth=(shop.write_keys["web"], ""))
    if sent.status_code != 200:  # refused with a reason (a NUL in a text, say): fine
        assert sent.json()["error"]["code"] in ("invalid_character", "too_deeply_nested")
        return
    settle(engine)
    for shown in _shown(client, shop, user_id):
        assert exact_values(_find(numbers.loads(shown), user_id)) == exact_values(properties)


def _find(document: Any, user_id: str) -> Any:
    """The properties of the user's event, wherever the document has it."""
    if isinstance(document, dict):
        if document.get("userId") == user_id and "properties" in document:
            return document["properties"]
        document = list(document.values())
    if isinstance(document, list):
        for item in document:
            if (found := _find(item, user_id)) is not None:
                return found
    return None
