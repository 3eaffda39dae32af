"""Writing flows over the admin API as a marketer's tools do: publishing the same definition
again publishes nothing, YAML is read as `nerve flows apply` reads it, a loop without a wait
is refused with its nodes, and a time-travel test that would run forever answers at its
budget."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine
from starlette.testclient import TestClient

from nerve.app import create_app
from nerve.settings import Settings
from tests.factories import Shop, make_shop
from tests.waiting import auth

FLOW: dict[str, Any] = {
    "name": "abandoned_cart",
    "trigger": {"event": "Checkout Started", "key": "properties.cart_id"},
    "nodes": [
        {"id": "pause", "wait": "2h"},
        {"id": "remind", "action": "webhook", "with": {"url": "http://127.0.0.1:9/r"}},
    ],
}


def _publish(
    client: TestClient, shop: Shop, env: str = "production", **request: Any
) -> tuple[int, dict[str, Any]]:
    if "content" not in request:
        request.setdefault("json", FLOW)
    headers = auth(shop) | request.pop("headers", {})
    response = client.post("/api/v1/flows", params={"environment": env}, headers=headers, **request)
    return response.status_code, response.json()


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"] and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    return body["error"]  # type: ignore[no-any-return]


def _versions(client: TestClient, shop: Shop) -> list[tuple[int, str]]:
    response = client.get("/api/v1/flows/abandoned_cart/versions", headers=auth(shop))
    return [(v["version"], v["environment"]) for v in response.json()["data"]]


def test_publishing_the_same_definition_again_publishes_nothing(
    client: TestClient, engine: Engine
) -> None:
    shop = make_shop(engine, kinds=("web",))
    status, first = _publish(client, shop)
    assert status == 201 and first["unchanged"] is False and first["version"] == 1
    # The same flow, written differently: defaults spelled out, keys in another order.
    same = {**FLOW, "description": "", "exit": [],
            "nodes": [dict(reversed(node.items())) for node in FLOW["nodes"]]}  # fmt: skip
    same["trigger"] = {**FLOW["trigger"], "reentry": "once_per_key", "type": "event"}
    status, again = _publish(client, shop, json=same)
    assert status == 200
    assert again == {**first, "unchanged": True}
    assert _versions(client, shop) == [(1, "production")]

    status, staging = _publish(client, shop, env="staging")  # another environment: its own
    assert (status, staging["version"], staging["unchanged"]) == (201, 2, False)
    changed = {**FLOW, "nodes": [{"id": "pause", "wait": "3h"}, FLOW["nodes"][1]]}
    status, newer = _publish(client, shop, json=changed)
    assert (status, newer["version"], newer["unchanged"]) == (201, 3, False)
    status, back = _publish(client, shop, json=FLOW)  # back to v1's: the latest is v3, so new
    assert (status, back["version"]) == (201, 4)
    assert _versions(client, shop) == [(1, "production"), (2, "staging"), (3, "production"),
                                       (4, "production")]  # fmt: skip


@pytest.mark.parametrize("media", ["application/yaml", "text/yaml", "application/x-yaml"])
def test_a_yaml_body_is_published_like_the_same_json(
    client: TestClient, engine: Engine, media: str
) -> None:
    shop = make_shop(engine, kinds=("web",))
    text = yaml.safe_dump(FLOW, sort_keys=False)
    status, published = _publish(client, shop, content=text, headers={"Content-Type": media})
    assert (status, published["version"]) == (201, 1)
    status, again = _publish(client, shop, json=FLOW)
    assert (status, again["unchanged"]) == (200, True)  # YAML and JSON: the same definition


def test_bad_bodies_are_refused_in_the_error_shape(client: TestClient, engine: Engine) -> None:
    shop = make_shop(engine, kinds=("web",))

    def post(content: bytes | str, media: str) -> Any:
        headers = auth(shop) | {"Content-Type": media}
        return client.post("/api/v1/flows", content=content, headers=headers)

    error = _error(post("name: [unclosed", "application/yaml"), 400, "invalid_flow")
    assert [p["path"] for p in error["details"]] == ["(file)"]
    _error(post('{"name": ', "application/json"), 400, "invalid_json")
    _error(post("- just\n- a list\n", "application/yaml"), 400, "invalid_request")
    bad = yaml.safe_dump({**FLOW, "trigger": {"event": "E", "reentry": "twice"}})
    error = _error(post(bad, "application/yaml"), 400, "invalid_flow")
    assert error["details"] == [{"path": "trigger.reentry",
        "reason": "must be once, once_per_key, always, or {every_days: N}"}]  # fmt: skip
    _error(post("name: x", "text/csv"), 415, "unsupported_media_type")
    _error(post(b"name: x\n" + b"#" * (1024 * 1024), "application/yaml"), 413, "payload_too_large")
    assert client.get("/api/v1/flows", headers=auth(shop)).json()["data"] == []


def test_the_openapi_document_lists_json_and_yaml_bodies(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/flows"]["post"]
    content = operation["requestBody"]["content"]
    assert {"application/json", "application/yaml", "text/yaml", "application/x-yaml"} <= set(
        content
    )
    assert {"200", "201", "413", "415"} <= set(operation["responses"])


def test_a_loop_without_a_wait_is_refused_naming_its_nodes(
    client: TestClient, engine: Engine
) -> None:
    shop = make_shop(engine, kinds=("web",))
    loop = {**FLOW, "nodes": [FLOW["nodes"][1],
                              {"id": "again", "branch": [{"else": True, "goto": "remind"}]}]}  # fmt: skip
    for response in (
        client.post("/api/v1/flows", json=loop, headers=auth(shop)),
        client.post("/api/v1/flows/test", json={"flow": loop, "events": []}, headers=auth(shop)),
    ):
        error = _error(response, 400, "invalid_flow")
        assert error["details"] == [{"path": "nodes[0]", "reason": "remind → again → remind loops "
            "back without waiting; put a wait or wait_for_event on the way"}]  # fmt: skip


@pytest.fixture
def small_test_client(settings: Settings) -> Iterator[TestClient]:
    small = settings.model_copy(update={"flow_test_max_steps": 300})
    with TestClient(create_app(small)) as client:
        yield client


def test_a_time_travel_test_that_would_run_forever_answers_at_its_budget(
    small_test_client: TestClient, engine: Engine
) -> None:
    shop = make_shop(engine, kinds=("web",))
    forever = {**FLOW, "nodes": [FLOW["nodes"][1], {"id": "pause", "wait": "1d"},
                                 {"id": "again", "branch": [{"else": True, "goto": "remind"}]}]}  # fmt: skip
    events = [{"userId": "anna", "event": "Checkout Started", "properties": {"cart_id": "c"},
               "timestamp": "2026-03-01T10:00:00Z"}]  # fmt: skip
    response = small_test_client.post(
        "/api/v1/flows/test", json={"flow": forever, "events": events}, headers=auth(shop)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["stopped"]["budget"] == "steps"
    assert "NERVE_FLOW_TEST_MAX_STEPS" in body["stopped"]["message"]
    assert sum(e["what"] == "action webhook" for e in body["timeline"]) == 100  # 3 steps a day
