"""The flow admin API as a shop developer uses it: flows and versions, runs and their history,
dead letters, errors in the contract's shape, workspace isolation, the schema and the metrics."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, select, text
from starlette.testclient import TestClient

from nerve.flows.models import FlowRun
from tests.factories import Shop, make_shop
from tests.receivers import Receiver
from tests.waiting import auth, until


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def _cart_flow(url: str, wait: str = "1s") -> dict[str, Any]:
    """Big carts wait an hour for the order; the others get one reminder after `wait`."""
    return {
        "name": "abandoned_cart",
        "trigger": {"event": "Checkout Started", "key": "properties.cart_id"},
        "exit": [
            {
                "event": "Order Completed",
                "where": "properties.cart_id == trigger.properties.cart_id",
                "goal": True,
            }
        ],
        "nodes": [
            {"id": "pause", "wait": wait},
            {
                "id": "pick",
                "branch": [
                    {"when": "properties.total > 100", "goto": "hold"},
                    {"else": True, "goto": "remind"},
                ],
            },
            {
                "id": "remind",
                "action": "webhook",
                "with": {"url": f"{url}/remind", "body": {"step": 1}},
                "retries": 1,
                "next": "end",
            },
            {"id": "hold", "wait": "1h"},
        ],
    }


def _refused_flow(url: str) -> dict[str, Any]:
    """One webhook to a receiver that refuses it: a dead letter at the first attempt."""
    return {
        "name": "abandoned_cart",
        "trigger": {"event": "Checkout Started", "key": "properties.cart_id"},
        "nodes": [{"id": "remind", "action": "webhook", "with": {"url": f"{url}/remind"}}],
    }


def _publish(
    client: TestClient, shop: Shop, flow: dict[str, Any], env: str = "production"
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/flows", params={"environment": env}, json=flow, headers=auth(shop)
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _track(client: TestClient, shop: Shop, user: str, event: str, cart: str, total: int) -> None:
    message = {"userId": user, "event": event, "properties": {"cart_id": cart, "total": total}}
    response = client.post("/v1/track", json=message, auth=(shop.write_keys["web"], ""))
    assert response.status_code == 200, response.text


def _get(client: TestClient, shop: Shop, path: str, **params: Any) -> Any:
    response = client.get(path, params=params, headers=auth(shop))
    assert response.status_code == 200, response.text
    return response.json()


def _runs(client: TestClient, shop: Shop, flow: str = "abandoned_cart", **params: Any) -> Any:
    return _get(client, shop, f"/api/v1/flows/{flow}/runs", **params)["data"]


def _dead_letters(client: TestClient, shop: Shop) -> Any:
    return _get(client, shop, "/api/v1/dead-letters")["data"]


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The contract's one error shape: {"error": {"code", "message", "details"}}."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"], body
    error: dict[str, Any] = body["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    assert set(error) == {"code", "message", "details"}, error
    return error


# --- flows and versions ------------------------------------------------------------------------


def test_flows_list_their_latest_version_per_environment_and_versions_are_immutable(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine, kinds=("web",))
    v1 = _publish(client, shop, _cart_flow(receiver.url, wait="1s"), env="staging")
    assert v1["version"] == 1 and v1["environment"] == "staging"
    [v1_before] = _get(client, shop, f"/api/v1/flows/{v1['flow_id']}/versions")["data"]
    v2 = _publish(client, shop, _cart_flow(receiver.url + "/v2", wait="2h"), env="production")
    assert v2["flow_id"] == v1["flow_id"] and v2["version"] == 2
    assert v2["version_id"] != v1["version_id"]

    [flow] = _get(client, shop, "/api/v1/flows")["data"]
    assert flow["id"] == v1["flow_id"] and flow["name"] == "abandoned_cart"
    assert flow["live_versions"] == {"staging": 1, "production": 2}

    for ref in (v1["flow_id"], "abandoned_cart"):  # by id or by name
        versions = _get(client, shop, f"/api/v1/flows/{ref}/versions")["data"]
        assert [(v["id"], v["version"], v["environment"]) for v in versions] == [
            (v1["version_id"], 1, "staging"),
            (v2["version_id"], 2, "production"),
        ]
    assert versions[0] == v1_before  # publishing v2 left v1 exactly as it was
    assert versions[0]["definition"]["nodes"][0]["wait"] == "1s"
    assert versions[1]["definition"]["nodes"][0]["wait"] == "2h"
    assert versions[1]["definition"]["nodes"][2]["with"]["url"] == f"{receiver.url}/v2/remind"

    v3 = _publish(client, shop, _cart_flow(receiver.url, wait="5m"), env="staging")
    assert v3["version"] == 3
    [flow] = _get(client, shop, "/api/v1/flows")["data"]
    assert flow["live_versions"] == {"staging": 3, "production": 2}


# --- runs --------------------------------------------------------------------------------------


def test_runs_filter_by_status_and_a_run_shows_its_steps_and_tasks_in_order(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine, kinds=("web",))
    published = _publish(client, shop, _cart_flow(receiver.url))
    _track(client, shop, "anna", "Checkout Started", "cart-a", 10)  # reminded, completes
    _track(client, shop, "ben", "Checkout Started", "cart-b", 500)  # orders: exits at the goal
    _track(client, shop, "cleo", "Checkout Started", "cart-c", 500)  # still waiting an hour
    until(lambda: len(_runs(client, shop)) == 3)
    _track(client, shop, "ben", "Order Completed", "cart-b", 500)
    until(
        lambda: (
            len(_runs(client, shop, status="completed")) == 1
            and len(_runs(client, shop, status="exited")) == 1
        )
    )

    runs = _runs(client, shop)
    assert sorted(r["trigger_key"] for r in runs) == ["cart-a", "cart-b", "cart-c"]
    assert len({r["id"] for r in runs}) == 3
    assert {r["version_id"] for r in runs} == {published["version_id"]}
    [anna] = _runs(client, shop, status="completed")
    [ben] = _runs(client, shop, status="exited")
    [cleo] = _runs(client, shop, status="active")
    assert (anna["trigger_key"], anna["outcome"]) == ("cart-a", "completed")
    assert (ben["trigger_key"], ben["outcome"]) == ("cart-b", "goal")
    assert (cleo["trigger_key"], cleo["outcome"]) == ("cart-c", None)
    assert _runs(client, shop, status="failed") == []
    assert len(_runs(client, shop, limit=2)) == 2

    run = _get(client, shop, f"/api/v1/runs/{anna['id']}")
    assert run["id"] == anna["id"] and run["status"] == "completed"
    [delivery] = receiver.deliveries
    key = delivery.headers["webhook-id"]
    steps = [(s["kind"], s["node"]) for s in run["steps"]]
    assert steps == [
        ("entered", None),
        ("waiting", "pause"),
        ("branched", "pick"),
        ("action", "remind"),
        ("completed", None),
    ]
    entered, waiting, branched, action, _ = (s["detail"] for s in run["steps"])
    assert branched == {"goto": "remind"}
    assert entered["key"] == "cart-a"
    assert waiting["then"] == "pick"
    assert action == {"attempt": 1, "result": {"status": 200}, "idempotency_key": key}
    tasks = [(t["kind"], t["node"], t["status"], t["attempts"]) for t in run["tasks"]]
    assert tasks == [("advance", "pick", "done", 1), ("action", "remind", "done", 1)]
    assert run["tasks"][1]["idempotency_key"] == key

    ben_run = _get(client, shop, f"/api/v1/runs/{ben['id']}")
    assert [s["kind"] for s in ben_run["steps"]][-1] == "exited"
    assert ben_run["steps"][-1]["detail"] == {"event": "Order Completed", "goal": True}
    assert receiver.attempts == 1  # neither Ben nor Cleo was reminded


# --- errors ------------------------------------------------------------------------------------


def test_an_invalid_flow_is_refused_with_every_problem_and_its_path(
    client: TestClient, engine: Engine
) -> None:
    shop = make_shop(engine, kinds=("web",))
    bad = {
        "name": "Abandoned Cart",
        "trigger": {"event": "Checkout Started"},
        "nodes": [{"id": "pause", "wait": "soon"}, {"id": "remind", "action": "webhook"}],
    }
    response = client.post("/api/v1/flows", json=bad, headers=auth(shop))
    error = _error(response, 400, "invalid_flow")
    assert {p["path"] for p in error["details"]} == {"name", "nodes[0].wait"}
    assert all(p["reason"] for p in error["details"])

    not_an_object = client.post("/api/v1/flows", json=[bad], headers=auth(shop))
    _error(not_an_object, 400, "invalid_request")
    bogus_env = client.post(
        "/api/v1/flows", params={"environment": "bogus"}, json=bad, headers=auth(shop)
    )
    error = _error(bogus_env, 400, "invalid_request")
    assert ["query", "environment"] in [d["location"] for d in error["details"]]
    good = {**bad, "name": "abandoned_cart", "nodes": [{"id": "pause", "wait": "1h"}]}
    bogus_env = client.post(
        "/api/v1/flows", params={"environment": "bogus"}, json=good, headers=auth(shop)
    )
    _error(bogus_env, 400, "invalid_request")
    assert _get(client, shop, "/api/v1/flows")["data"] == []  # nothing was stored
    published = client.post(
        "/api/v1/flows", params={"environment": "staging"}, json=good, headers=auth(shop)
    )
    assert published.status_code == 201
    typo = client.get(
        f"/api/v1/flows/{published.json()['flow_id']}/runs",
        params={"status": "complete"},  # not a status: say so rather than list nothing
        headers=auth(shop),
    )
    _error(typo, 400, "invalid_request")


def test_unknown_flows_runs_and_dead_letters_are_404(client: TestClient, engine: Engine) -> None:
    shop = make_shop(engine, kinds=("web",))
    headers = auth(shop)
    for path in (
        "/api/v1/flows/flw_missing/versions",
        "/api/v1/flows/flw_missing/runs",
        "/api/v1/runs/run_missing",
    ):
        _error(client.get(path, headers=headers), 404, "not_found")
    replay = client.post("/api/v1/dead-letters/dlq_missing/replay", headers=headers)
    _error(replay, 404, "not_found")
    _error(
        client.get("/api/v1/flows/x/runs", params={"limit": 0}, headers=headers),
        400,
        "invalid_request",
    )


def test_the_admin_api_needs_a_valid_secret_key(client: TestClient, engine: Engine) -> None:
    shop = make_shop(engine, kinds=("web",))
    key_id, _, secret = shop.secret_key.partition(".")
    credentials: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": f"Bearer {key_id}.{secret[:-2]}xx"},  # right key, wrong secret
        {"Authorization": "Bearer nrv_key_unknown.secret"},
        {"Authorization": f"Basic {shop.secret_key}"},
    ]
    requests = [
        ("GET", "/api/v1/flows"),
        ("GET", "/api/v1/flows/abandoned_cart/versions"),
        ("GET", "/api/v1/flows/abandoned_cart/runs"),
        ("GET", "/api/v1/runs/run_x"),
        ("GET", "/api/v1/dead-letters"),
        ("POST", "/api/v1/dead-letters/dlq_x/replay"),
        ("POST", "/api/v1/flows"),
    ]
    flow = _refused_flow("http://127.0.0.1:9")
    for headers in credentials:
        for method, path in requests:
            response = client.request(method, path, headers=headers, json=flow)
            _error(response, 401, "unauthorized")
    # The shop's write key is for tracking, not for the admin API.
    response = client.get("/api/v1/flows", auth=(shop.write_keys["web"], ""))
    _error(response, 401, "unauthorized")
    assert _get(client, shop, "/api/v1/flows")["data"] == []  # nothing was published


def test_another_workspace_sees_none_of_this_workspaces_flows_runs_or_dead_letters(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine, kinds=("web",))
    other = make_shop(engine, workspace="other", kinds=("web",))
    receiver.fail_with = 410
    ours = _publish(client, shop, _refused_flow(receiver.url))
    _track(client, shop, "anna", "Checkout Started", "cart-a", 10)
    [letter] = until(lambda: _dead_letters(client, shop))
    [run] = _runs(client, shop)

    assert _get(client, other, "/api/v1/flows")["data"] == []
    assert _dead_letters(client, other) == []
    for path in (
        f"/api/v1/flows/{ours['flow_id']}/versions",
        f"/api/v1/flows/{ours['flow_id']}/runs",
        "/api/v1/flows/abandoned_cart/runs",
        f"/api/v1/runs/{run['id']}",
    ):
        response = client.get(path, headers=auth(other))
        error = _error(response, 404, "not_found")
        assert "anna" not in response.text and ours["version_id"] not in response.text, error
    replay = client.post(f"/api/v1/dead-letters/{letter['id']}/replay", headers=auth(other))
    _error(replay, 404, "not_found")
    assert [d["id"] for d in _dead_letters(client, shop)] == [letter["id"]]  # not replayed

    # The other shop's flow of the same name is its own: its runs and versions only.
    theirs = _publish(client, other, _cart_flow(receiver.url))
    assert theirs["flow_id"] != ours["flow_id"] and theirs["version"] == 1
    assert _runs(client, other) == []
    versions = _get(client, other, "/api/v1/flows/abandoned_cart/versions")["data"]
    assert [v["id"] for v in versions] == [theirs["version_id"]]
    [flow] = _get(client, shop, "/api/v1/flows")["data"]
    assert flow["id"] == ours["flow_id"] and flow["live_versions"] == {"production": 1}


def test_a_dead_letter_is_replayed_once_even_when_two_replays_race(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine, kinds=("web",))
    receiver.fail_with = 410
    _publish(client, shop, _refused_flow(receiver.url))
    _track(client, shop, "anna", "Checkout Started", "cart-a", 10)
    [letter] = until(lambda: _dead_letters(client, shop))
    assert letter["attempts"] == 1 and letter["node"] == "remind"
    receiver.fail_with = None
    statuses: list[int] = []

    def replay() -> None:
        response = client.post(f"/api/v1/dead-letters/{letter['id']}/replay", headers=auth(shop))
        statuses.append(response.status_code)

    replays = [threading.Thread(target=replay) for _ in range(2)]
    with engine.connect() as holder:
        if engine.dialect.name == "postgresql":
            # Hold the run so both replays have read the letter before either may write.
            holder.execute(
                select(FlowRun.id).where(FlowRun.id == letter["run_id"]).with_for_update()
            )
        for thread in replays:
            thread.start()
        if engine.dialect.name == "postgresql":
            until(lambda: _lock_waiters(engine) >= 2, seconds=10)
        holder.rollback()
    for thread in replays:
        thread.join()
    assert sorted(statuses) == [200, 409]
    again = client.post(f"/api/v1/dead-letters/{letter['id']}/replay", headers=auth(shop))
    _error(again, 409, "conflict")
    until(lambda: _runs(client, shop, status="completed"))
    assert len(receiver.deliveries) == 1 and receiver.attempts == 2
    assert _dead_letters(client, shop) == []
    [replayed] = _get(client, shop, "/api/v1/dead-letters", include_replayed="true")["data"]
    assert replayed["id"] == letter["id"] and replayed["replayed_at"] is not None


def _lock_waiters(engine: Engine) -> int:
    # A new connection each time: pg_stat_activity is a snapshot per transaction.
    with engine.connect() as conn:
        query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        return int(conn.scalar(text(f"{query} AND datname = current_database()")) or 0)


# --- schema and metrics ------------------------------------------------------------------------


def test_the_flow_schema_is_a_json_schema_of_flow_definitions(client: TestClient) -> None:
    response = client.get("/api/v1/flows/schema")
    assert response.status_code == 200
    schema = response.json()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert {"name", "trigger", "nodes"} <= set(schema["properties"])
    assert {"name", "trigger", "nodes"} <= set(schema["required"])
    node = schema["$defs"]["Node"]["properties"]
    assert {"wait", "action", "with", "timeout", "retries"} <= set(node)


def _metrics(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_count_flow_runs_steps_and_timer_lag(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine, kinds=("web",))
    _publish(client, shop, _cart_flow(receiver.url))
    before = _metrics(client)
    _track(client, shop, "anna", "Checkout Started", "cart-a", 10)
    until(lambda: _runs(client, shop, status="completed"))
    after = _metrics(client)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        assert key in after, f"{name}{labels} is not exposed"
        return after[key] - before.get(key, 0.0)

    assert grew("nerve_flow_runs_total", outcome="started") == 1
    assert grew("nerve_flow_runs_total", outcome="completed") == 1
    assert grew("nerve_flow_step_seconds_count", kind="advance") == 1
    assert grew("nerve_flow_step_seconds_count", kind="action") == 1
    assert grew("nerve_flow_step_seconds_sum", kind="action") > 0
    assert grew("nerve_flow_timer_lag_seconds_count") == 2  # the wait's end, the action


def test_a_draft_is_tested_through_the_api_without_publishing_or_sending(
    client: TestClient, engine: Engine
) -> None:
    shop = make_shop(engine, kinds=("web",))
    draft = {
        "name": "abandoned_cart",
        "trigger": {"event": "Checkout Started", "key": "properties.cart_id"},
        "exit": [{"event": "Order Completed", "goal": True,
                  "where": "properties.cart_id == trigger.properties.cart_id"}],
        "nodes": [{"id": "wait", "wait": "2h"},
                  {"id": "remind", "action": "webhook", "with": {"url": "http://shop.invalid/"}}],
    }  # fmt: skip
    events = [
        {"userId": "ann", "event": "Checkout Started", "properties": {"cart_id": "a"},
         "timestamp": "2026-03-01T10:00:00Z"},
        {"userId": "bo", "event": "Checkout Started", "properties": {"cart_id": "b"},
         "timestamp": "2026-03-01T10:00:00Z"},
        {"userId": "bo", "event": "Order Completed", "properties": {"cart_id": "b"},
         "timestamp": "2026-03-01T11:00:00Z"},
    ]  # fmt: skip
    response = client.post(
        "/api/v1/flows/test", json={"flow": draft, "events": events}, headers=auth(shop)
    )
    assert response.status_code == 200, response.text
    timeline = response.json()["timeline"]
    sent = [(e["at"], e["what"]) for e in timeline if e["what"].startswith("action")]
    assert sent == [("2026-03-01T12:00:00+00:00", "action webhook")]  # Ann only: Bo ordered
    assert [e["what"] for e in timeline if e["run"] == "run-2"][-1] == "goal reached"
    assert _get(client, shop, "/api/v1/flows")["data"] == []  # a draft: nothing published

    late = [events[0], {"userId": "cy", "event": "Checkout Started"}]  # no timestamp
    error = _error(
        client.post("/api/v1/flows/test", json={"flow": draft, "events": late}, headers=auth(shop)),
        400,
        "invalid_request",
    )
    assert "events[1]" in error["message"]
    broken = {**draft, "nodes": []}
    _error(
        client.post(
            "/api/v1/flows/test", json={"flow": broken, "events": events}, headers=auth(shop)
        ),
        400,
        "invalid_flow",
    )
