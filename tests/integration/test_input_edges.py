"""Input at the edges — what no database can store or search (NaN, lone surrogates, NUL),
times that leave the years 1-9999 in UTC, forged cursors — gets a 400 (a 404 for a path, which
it cannot name), never a 500, and nothing of the request is stored. Found by
tests/integration/test_openapi_fuzz.py and by reading what it could not reach."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.factories import Shop
from tests.waiting import auth, until


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"] and body["error"]["code"] == code, body
    return body["error"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"default_region": "\\ud800"}', "surrogate"),
        (b'{"default_region": "D\\u0000E"}', "NUL"),
        (b'{"first_value_traits": ["\\u0000"]}', "NUL"),
        (b'{"max_anonymous_ids": NaN}', "JSON"),
        (b'{"max_anonymous_ids": 1e400}', "infinity"),
    ],
)
def test_bodies_that_cannot_be_stored_are_refused(
    client: TestClient, shop: Shop, body: bytes, reason: str
) -> None:
    headers = {**auth(shop), "Content-Type": "application/json"}
    before = client.get("/api/v1/identity/rules", headers=auth(shop)).json()
    error = _error(
        client.put("/api/v1/identity/rules", content=body, headers=headers), 400, "invalid_request"
    )
    assert reason in error["details"][0]["message"], error
    assert client.get("/api/v1/identity/rules", headers=auth(shop)).json() == before


def test_a_count_beyond_64_bits_is_refused(client: TestClient, shop: Shop) -> None:
    huge = {"max_anonymous_ids": 959605156892416671744}
    _error(
        client.put("/api/v1/identity/rules", json=huge, headers=auth(shop)), 400, "invalid_request"
    )


def test_nul_in_a_query_is_a_400_and_in_a_path_a_404(client: TestClient, shop: Shop) -> None:
    query = client.get("/api/v1/events", params={"event": "Order\x00"}, headers=auth(shop))
    assert "NUL" in _error(query, 400, "invalid_request")["message"]
    lookup = client.get(
        "/api/v1/profiles", params={"identifier": "user_id:\x00"}, headers=auth(shop)
    )
    _error(lookup, 400, "invalid_request")
    _error(client.get("/api/v1/profiles/prf_%00", headers=auth(shop)), 404, "not_found")
    _error(client.get("/api/v1/runs/%00", headers=auth(shop)), 404, "not_found")


def test_a_write_key_no_source_can_have_is_refused_without_asking_the_database(
    client: TestClient, shop: Shop
) -> None:
    message = {"userId": "u", "event": "E"}
    for key in ("web\x00", "k" * 65):
        response = client.post("/v1/track", json={**message, "writeKey": key})
        _error(response, 401, "invalid_write_key")
    assert client.post(
        "/v1/track", json={**message, "writeKey": shop.write_keys["web"]}
    ).json() == {"success": True}


def test_event_filters_take_a_time_without_zone_as_utc_and_refuse_one_out_of_range(
    client: TestClient, shop: Shop
) -> None:
    message = {"userId": "u", "event": "E", "timestamp": "2026-01-02T10:00:00Z"}
    client.post("/v1/track", json=message, auth=(shop.write_keys["web"], ""))

    def events(**params: str) -> Any:
        return client.get("/api/v1/events", params=params, headers=auth(shop))

    assert len(events(since="2026-01-02T09:00:00").json()["data"]) == 1
    assert events(since="2026-01-02T11:00:00").json()["data"] == []
    assert len(events(until="2026-01-03").json()["data"]) == 1
    for edge in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        assert "out of range" in _error(events(since=edge), 400, "invalid_request")["message"]
        _error(events(until=edge), 400, "invalid_request")


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_forged_cursors_are_invalid_requests(client: TestClient, shop: Shop) -> None:
    client.post("/v1/identify", json={"userId": "anna"}, auth=(shop.write_keys["web"], ""))
    profile = until(
        lambda: (
            client.get(
                "/api/v1/profiles", params={"identifier": "user_id:anna"}, headers=auth(shop)
            )
            .json()
            .get("id")
        )
    )
    _error(
        client.get(
            "/api/v1/events", params={"cursor": _cursor("e:" + "9" * 30)}, headers=auth(shop)
        ),
        400,
        "invalid_request",
    )
    for forged in ("t:2026-01-01T00:00:00|1", "t:2026-01-01T00:00:00+00:00|" + "9" * 30,
                   "t:0001-01-01T00:00:00+05:00|1"):  # fmt: skip
        response = client.get(
            f"/api/v1/profiles/{profile}/timeline",
            params={"cursor": _cursor(forged)},
            headers=auth(shop),
        )
        _error(response, 400, "invalid_request")
