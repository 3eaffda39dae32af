"""The Segment-compatible Tracking API against the real app and database."""

from __future__ import annotations

import gzip
import json
import uuid
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from tests.factories import Shop

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
REQUIRED = {
    "track": {"event": "Product Viewed"},
    "alias": {"previousId": "anon-1"},
    "group": {"groupId": "g1"},
}


def _events(client: TestClient, shop: Shop, **params: Any) -> list[dict[str, Any]]:
    response = client.get(
        "/api/v1/events",
        params={"limit": 1000, **params},
        headers={"Authorization": f"Bearer {shop.secret_key}"},
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", sorted(SINGLE_PATHS))
def test_every_single_call_path_stores_its_type(client: TestClient, shop: Shop, path: str) -> None:
    type_ = SINGLE_PATHS[path]
    message = {"userId": "u1", "messageId": f"m-{path}", **REQUIRED.get(type_, {})}
    response = client.post(f"/v1/{path}", json=message, auth=(shop.write_keys["web"], ""))
    assert response.status_code == 200 and response.json() == {"success": True}
    [event] = _events(client, shop)
    assert event["type"] == type_ and event["messageId"] == f"m-{path}"
    assert event["sourceId"] == shop.source_ids["web"]


@pytest.mark.parametrize("path", ["batch", "b", "import"])
def test_batch_paths_store_every_item(client: TestClient, shop: Shop, path: str) -> None:
    batch = [
        {"type": "identify", "userId": "u1", "traits": {"email": "anna@example.com"}},
        {
            "type": "track",
            "userId": "u1",
            "event": "Product Viewed",
            "properties": {"sku": "RUN-1"},
        },
        {"type": "page", "anonymousId": "a1", "name": "Home"},
    ]
    response = client.post(f"/v1/{path}", json={"batch": batch}, auth=(shop.write_keys["app"], ""))
    assert response.json() == {"success": True}
    assert [e["type"] for e in _events(client, shop)] == ["identify", "track", "page"]


def test_analytics_js_text_plain_with_write_key_in_body(client: TestClient, shop: Shop) -> None:
    body = {
        "writeKey": shop.write_keys["web"],
        "anonymousId": "a-js",
        "event": "Cart Viewed",
        "type": "track",
    }
    response = client.post(
        "/v1/t", content=json.dumps(body), headers={"Content-Type": "text/plain"}
    )
    assert response.json() == {"success": True}
    [event] = _events(client, shop)
    assert event["event"] == "Cart Viewed" and "writeKey" not in event


def test_gzip_bodies_are_accepted(client: TestClient, shop: Shop) -> None:
    body = gzip.compress(
        orjson.dumps({"batch": [{"type": "track", "userId": "u", "event": "Zipped"}]})
    )
    response = client.post(
        "/v1/batch",
        content=body,
        auth=(shop.write_keys["app"], ""),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert response.json() == {"success": True}
    assert [e["event"] for e in _events(client, shop)] == ["Zipped"]


def test_write_key_is_required_and_must_be_known(client: TestClient, shop: Shop) -> None:
    message = {"userId": "u", "event": "E"}
    _error(client.post("/v1/track", json=message), 401, "missing_write_key")
    _error(client.post("/v1/track", json=message, auth=("nope", "")), 401, "invalid_write_key")
    _error(client.post("/v1/track", json={**message, "writeKey": "nope"}), 401, "invalid_write_key")
    assert _events(client, shop) == []


def test_bad_bodies_get_clear_errors(client: TestClient, shop: Shop) -> None:
    auth = (shop.write_keys["web"], "")
    _error(client.post("/v1/track", content=b"{not json", auth=auth), 400, "invalid_json")
    _error(client.post("/v1/track", content=b"", auth=auth), 400, "invalid_json")
    _error(client.post("/v1/track", content=b"[1]", auth=auth), 400, "invalid_json")
    _error(client.post("/v1/track", json={"event": "E"}, auth=auth), 400, "no_user_anon_id")
    _error(
        client.post(
            "/v1/track", json={"userId": None, "anonymousId": None, "event": "E"}, auth=auth
        ),
        400,
        "no_user_anon_id",
    )
    _error(client.post("/v1/track", json={"userId": "u"}, auth=auth), 400, "missing_event")
    _error(client.post("/v1/batch", json={"batch": "x"}, auth=auth), 400, "invalid_batch")
    _error(
        client.post("/v1/track", content=b"xx", auth=auth, headers={"Content-Encoding": "gzip"}),
        400,
        "invalid_encoding",
    )
    _error(client.post("/v1/nothing", json={}, auth=auth), 404, "not_found")
    assert _events(client, shop) == []


def test_size_limits(client: TestClient, shop: Shop) -> None:
    auth = (shop.write_keys["web"], "")
    big_event = {"userId": "u", "event": "E", "properties": {"blob": "x" * 33_000}}
    _error(client.post("/v1/track", json=big_event, auth=auth), 413, "event_too_large")
    items = [
        {"type": "track", "userId": "u", "event": "E", "properties": {"blob": "x" * 2000}}
    ] * 300
    _error(client.post("/v1/batch", json={"batch": items}, auth=auth), 413, "request_too_large")
    many = [{"type": "track", "userId": "u", "event": "E"}] * 2501
    _error(client.post("/v1/batch", json={"batch": many}, auth=auth), 413, "too_many_events")
    bomb = gzip.compress(
        orjson.dumps({"batch": [{"type": "track", "userId": "u", "event": "E" * 200}] * 5000})
    )
    _error(
        client.post("/v1/batch", content=bomb, auth=auth, headers={"Content-Encoding": "gzip"}),
        413,
        "request_too_large",
    )
    assert _events(client, shop) == []


def test_a_bad_item_does_not_lose_the_good_ones(client: TestClient, shop: Shop) -> None:
    batch = [
        {"type": "track", "userId": "u", "event": "Good 1", "messageId": "g1"},
        {"type": "track", "event": "No id", "messageId": "b1"},
        {"type": "track", "userId": "u", "event": "Huge", "properties": {"x": "y" * 40_000}},
        {"type": "bogus", "userId": "u"},
        "not an object",
        {"type": "track", "userId": "u", "event": "Nul \u0000", "messageId": "b2"},
        {"type": "track", "userId": "u", "event": "Good 2", "messageId": "g2"},
        {"type": "screen", "messageId": -3434166346164798744428544},  # beyond 64 bits
    ]
    response = client.post("/v1/batch", json={"batch": batch}, auth=(shop.write_keys["web"], ""))
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["accepted"] == 2
    assert [(r["index"], r["error"]["code"]) for r in body["rejected"]] == [
        (1, "no_user_anon_id"),
        (2, "event_too_large"),
        (3, "invalid_type"),
        (4, "invalid_message"),
        (5, "invalid_character"),
        (7, "no_user_anon_id"),
    ]
    assert body["rejected"][0]["messageId"] == "b1"
    assert body["rejected"][-1]["messageId"] == -3434166346164798744428544  # echoed exactly
    assert [e["event"] for e in _events(client, shop)] == ["Good 1", "Good 2"]


def test_a_batch_with_only_bad_items_is_a_400_listing_them(client: TestClient, shop: Shop) -> None:
    response = client.post(
        "/v1/batch", json={"batch": [{"type": "track"}, {}]}, auth=(shop.write_keys["web"], "")
    )
    error = _error(response, 400, "invalid_request")
    assert [d["index"] for d in error["details"]] == [0, 1]
    # A messageId beyond 64 bits is echoed exactly in the error too (it was a 500).
    big = {"type": "track", "userId": "u1", "messageId": 2**70}
    response = client.post("/v1/batch", json={"batch": [big]}, auth=(shop.write_keys["web"], ""))
    assert _error(response, 400, "invalid_request")["details"][0]["messageId"] == 2**70


def test_resent_messages_are_stored_once_per_source(client: TestClient, shop: Shop) -> None:
    message = {"userId": "u", "event": "Order Completed", "messageId": "same-id"}
    for _ in range(3):
        assert (
            client.post("/v1/track", json=message, auth=(shop.write_keys["web"], "")).status_code
            == 200
        )
    batch = {"batch": [{**message, "type": "track"}, {**message, "type": "track"}]}
    assert (
        client.post("/v1/batch", json=batch, auth=(shop.write_keys["web"], "")).status_code == 200
    )
    # The same messageId from another head is another message.
    assert (
        client.post("/v1/track", json=message, auth=(shop.write_keys["app"], "")).status_code == 200
    )
    events = _events(client, shop)
    assert sorted(e["sourceId"] for e in events) == sorted(
        [shop.source_ids["web"], shop.source_ids["app"]]
    )


def test_cors_preflight_allows_the_sdk_headers(client: TestClient) -> None:
    response = client.options(
        "/v1/t",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, x-retry-count",
        },
    )
    assert response.status_code == 200
    allowed = response.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "x-retry-count"} <= set(
        h.strip() for h in allowed.split(",")
    )


def test_events_api_filters_and_paginates(client: TestClient, shop: Shop) -> None:
    batch = [
        {
            "type": "track",
            "userId": "anna",
            "event": "Product Viewed",
            "timestamp": "2026-01-01T10:00:00Z",
        },
        {
            "type": "track",
            "anonymousId": "dev-1",
            "event": "Product Added",
            "timestamp": "2026-01-02T10:00:00Z",
        },
        {
            "type": "identify",
            "userId": "anna",
            "anonymousId": "dev-1",
            "timestamp": "2026-01-03T10:00:00Z",
        },
        {
            "type": "track",
            "userId": "bob",
            "event": "Product Viewed",
            "timestamp": "2026-01-04T10:00:00Z",
        },
    ]
    client.post("/v1/batch", json={"batch": batch}, auth=(shop.write_keys["web"], ""))
    client.post(
        "/v1/track",
        json={"userId": "anna", "event": "Order Completed"},
        auth=(shop.write_keys["pos"], ""),
    )
    assert len(_events(client, shop, userId="anna")) == 3
    assert len(_events(client, shop, anonymousId="dev-1")) == 2
    assert len(_events(client, shop, event="Product Viewed")) == 2
    assert len(_events(client, shop, type="identify")) == 1
    assert [e["event"] for e in _events(client, shop, source="pos")] == ["Order Completed"]
    assert len(_events(client, shop, source=shop.source_ids["web"])) == 4
    window = _events(client, shop, since="2026-01-02T00:00:00Z", until="2026-01-04T00:00:00Z")
    assert [e["type"] for e in window] == ["track", "identify"]

    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(
            "/api/v1/events", params=params, headers={"Authorization": f"Bearer {shop.secret_key}"}
        ).json()
        seen += [e["id"] for e in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and seen == sorted(set(seen))


def test_events_api_needs_a_valid_key_and_sees_only_its_workspace(
    client: TestClient, shop: Shop, engine: Any
) -> None:
    from tests.factories import make_shop

    other = make_shop(engine, workspace="other-shop", kinds=("web",))
    client.post(
        "/v1/track", json={"userId": "u", "event": "Mine"}, auth=(shop.write_keys["web"], "")
    )
    client.post(
        "/v1/track", json={"userId": "u", "event": "Theirs"}, auth=(other.write_keys["web"], "")
    )
    assert [e["event"] for e in _events(client, shop)] == ["Mine"]
    assert [e["event"] for e in _events(client, other)] == ["Theirs"]
    _error(client.get("/api/v1/events"), 401, "unauthorized")
    _error(
        client.get("/api/v1/events", headers={"Authorization": "Bearer nrv_x.y"}),
        401,
        "unauthorized",
    )
    _error(
        client.get("/api/v1/events", headers={"Authorization": f"Bearer {shop.secret_key}x"}),
        401,
        "unauthorized",
    )
    headers = {"Authorization": f"Bearer {shop.secret_key}"}
    _error(
        client.get("/api/v1/events", params={"cursor": "%%%"}, headers=headers),
        400,
        "invalid_request",
    )
    _error(
        client.get("/api/v1/events", params={"limit": 0}, headers=headers), 400, "invalid_request"
    )
    _error(
        client.get("/api/v1/events", params={"since": "nope"}, headers=headers),
        400,
        "invalid_request",
    )


def test_health_and_metrics(client: TestClient, shop: Shop) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    client.post(
        "/v1/track",
        json={"userId": "u", "event": "E", "messageId": str(uuid.uuid4())},
        auth=(shop.write_keys["web"], ""),
    )
    client.post("/v1/track", json={"event": "E"}, auth=(shop.write_keys["web"], ""))
    text = client.get("/metrics").text
    for name in (
        "nerve_events_accepted_total",
        'nerve_events_rejected_total{code="no_user_anon_id"}',
        "nerve_event_commit_batch_events_bucket",
        "nerve_http_request_duration_seconds_bucket",
    ):
        assert name in text


def test_openapi_document_describes_the_admin_api(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert "/api/v1/events" in document["paths"]
    _error(client.get("/api/v1/nowhere"), 404, "not_found")


def _request_counts(client: TestClient) -> dict[tuple[str, str, str], float]:
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for s in family.samples
        if s.name == "nerve_http_request_duration_seconds_count"
    }


def test_request_metrics_name_the_tracking_endpoint_that_served_them(
    client: TestClient, shop: Shop
) -> None:
    auth = (shop.write_keys["web"], "")
    before = _request_counts(client)
    client.post("/v1/track", json={"userId": "u", "event": "E"}, auth=auth)
    client.post("/v1/t", json={"userId": "u", "event": "E"}, auth=auth)
    client.post("/v1/batch", json={"batch": [{"type": "page", "userId": "u"}]}, auth=auth)
    client.post("/v1/track", json={"userId": "u"}, auth=auth)  # missing_event
    for unknown in ("xyz", "abc", "trak"):
        _error(client.post(f"/v1/{unknown}", json={}, auth=auth), 404, "not_found")
    after = _request_counts(client)

    def grew(route: str, status: str) -> float:
        key = ("POST", route, status)
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("/v1/track", "200") == 1 and grew("/v1/t", "200") == 1
    assert grew("/v1/batch", "200") == 1 and grew("/v1/track", "400") == 1
    # Unknown paths share one label: a scanner cannot grow the label set.
    assert grew("/v1/{path}", "404") == 3
    routes = {route for _, route, _ in after}
    assert not routes & {"/v1/xyz", "/v1/abc", "/v1/trak"}
    assert grew("unmatched", "200") == 0
