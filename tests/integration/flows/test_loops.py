"""Flows that come back to a node — a reminder loop — on the real engine with a receiver on
loopback: each visit is a step of its own with its own idempotency key, kept by its retries; a
run that loops too fast ends in the dead-letter queue; a condition that would build too much
fails its step cleanly; a run that sleeps shows the wait it is in."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from nerve.app import create_app
from nerve.flows.interpreter import idempotency_key
from nerve.settings import Settings
from tests.factories import Shop, make_shop
from tests.receivers import Receiver
from tests.waiting import auth, until


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def _reminders(url: str, again: str, wait: str = "0.2s") -> dict[str, Any]:
    """A reminder, a pause, and back to the reminder while `again` holds."""
    return {
        "name": "reminders",
        "trigger": {"event": "Checkout Started", "key": "properties.cart_id"},
        "nodes": [
            {"id": "remind", "action": "webhook", "with": {"url": f"{url}/remind"}, "retries": 3},
            {"id": "pause", "wait": wait},
            {"id": "again", "branch": [{"when": again, "goto": "remind"}]},
        ],
    }


def _publish(client: TestClient, shop: Shop, flow: dict[str, Any]) -> None:
    response = client.post(
        "/api/v1/flows", params={"environment": "production"}, json=flow, headers=auth(shop)
    )
    assert response.status_code == 201, response.text


def _track(client: TestClient, shop: Shop, user: str, event: str, **properties: Any) -> None:
    message = {"userId": user, "event": event, "properties": properties}
    response = client.post("/v1/track", json=message, auth=(shop.write_keys["web"], ""))
    assert response.status_code == 200, response.text


def _get(client: TestClient, shop: Shop, path: str, **params: Any) -> Any:
    response = client.get(path, params=params, headers=auth(shop))
    assert response.status_code == 200, response.text
    return response.json()


def _runs(client: TestClient, shop: Shop, flow: str = "reminders", **params: Any) -> Any:
    return _get(client, shop, f"/api/v1/flows/{flow}/runs", **params)["data"]


def _dead_letters(client: TestClient, shop: Shop) -> Any:
    return _get(client, shop, "/api/v1/dead-letters")["data"]


def test_each_visit_of_a_loop_has_its_own_key_and_a_retry_keeps_it(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine, kinds=("web",))
    receiver.answers = [503]  # the first visit's first attempt: retried later, same visit
    _publish(client, shop, _reminders(receiver.url, again="run.visits.remind < 2"))
    _track(client, shop, "anna", "Checkout Started", cart_id="c-1")
    [run] = until(lambda: _runs(client, shop, status="completed"), seconds=30)

    first, second = (d.headers["webhook-id"] for d in receiver.deliveries)
    assert first != second  # a receiver that drops duplicates keeps both reminders
    assert [r.headers["webhook-id"] for r in receiver.requests] == [first, first, second]
    assert [first, second] == [idempotency_key(run["id"], "remind", visit) for visit in (1, 2)]
    details = _get(client, shop, f"/api/v1/runs/{run['id']}")
    actions = [s["detail"]["idempotency_key"] for s in details["steps"] if s["kind"] == "action"]
    assert actions == [first, second]
    assert details["state"]["data"]["visits"] == {"remind": 2, "pause": 2, "again": 2}
    assert _dead_letters(client, shop) == []


@pytest.fixture
def tight_client(settings: Settings) -> Iterator[TestClient]:
    """Runs may take 7 steps an hour: a loop with a short wait is over it in a second."""
    tight = settings.model_copy(update={"flow_run_steps_per_hour": 7})
    with TestClient(create_app(tight)) as client:
        yield client


def test_a_run_looping_too_fast_goes_to_the_dead_letter_queue_and_a_replay_gives_it_more(
    tight_client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    client, shop = tight_client, make_shop(engine, kinds=("web",))
    _publish(client, shop, _reminders(receiver.url, again="true"))  # loops without end
    _track(client, shop, "anna", "Checkout Started", cart_id="c-1")
    [letter] = until(lambda: _dead_letters(client, shop), seconds=20)
    assert "step budget exceeded" in letter["error"]["message"]
    assert "NERVE_FLOW_RUN_STEPS_PER_HOUR" in letter["error"]["message"]
    assert letter["error"]["permanent"] is True
    # 7 steps: remind, pause, (again, remind, pause) twice; the 8th is refused.
    assert len(receiver.deliveries) == 3
    [run] = _runs(client, shop)
    assert run["status"] == "failed" and run["node"] == "pause"
    time.sleep(1)  # not spinning: nothing more is sent
    assert len(receiver.deliveries) == 3

    replay = client.post(f"/api/v1/dead-letters/{letter['id']}/replay", headers=auth(shop))
    assert replay.status_code == 200, replay.text
    until(lambda: len(_dead_letters(client, shop)) == 1 and len(receiver.deliveries) > 3)
    keys = [d.headers["webhook-id"] for d in receiver.deliveries]
    assert len(set(keys)) == len(keys)  # the loop went on, each visit with its own key


def test_a_condition_that_would_build_too_much_fails_its_step_and_nothing_else(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine, kinds=("web",))
    flow = {
        "name": "greeting",
        "trigger": {"event": "Signed Up"},
        "nodes": [
            {"id": "long", "branch": [{"when": "properties.word * properties.times == ''",
                                       "goto": "end"}]},
            {"id": "greet", "action": "webhook", "with": {"url": f"{receiver.url}/hello"}},
        ],
    }  # fmt: skip
    _publish(client, shop, flow)
    # A trigger condition that cannot be evaluated starts nothing, and other flows still start.
    picky = {**flow, "name": "picky", "trigger": {"event": "Signed Up",
             "where": "len(properties.word * properties.times) > 0"}}  # fmt: skip
    _publish(client, shop, picky)
    _track(client, shop, "anna", "Signed Up", word="spam", times=10**9)
    _track(client, shop, "ben", "Signed Up", word="hi", times=2)

    [letter] = until(lambda: _dead_letters(client, shop))
    assert letter["node"] == "long"
    assert "cannot evaluate" in letter["error"]["message"]
    assert "longer than 65,536 characters" in letter["error"]["message"]
    until(lambda: _runs(client, shop, "greeting", status="completed"))
    [failed] = _runs(client, shop, "greeting", status="failed")
    assert failed["node"] == "long"
    assert len(receiver.deliveries) == 2  # Ben, greeted by both flows
    # Ben's run only: Anna's event started no run of the picky flow.
    until(lambda: _runs(client, shop, "picky", status="completed"))
    assert len(_runs(client, shop, "picky")) == 1


def test_a_sleeping_run_shows_the_wait_it_is_in_and_then_goes_on(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine, kinds=("web",))
    flow = {
        "name": "reminders",
        "trigger": {"event": "Checkout Started"},
        "nodes": [
            {"id": "pause", "wait": "2s"},
            {"id": "remind", "action": "webhook", "with": {"url": f"{receiver.url}/remind"}},
        ],
    }
    _publish(client, shop, flow)
    _track(client, shop, "anna", "Checkout Started")
    [listed] = until(lambda: _runs(client, shop))
    run = _get(client, shop, f"/api/v1/runs/{listed['id']}")
    assert receiver.deliveries == []  # still asleep
    for shown in (listed, run):
        assert (shown["status"], shown["node"]) == ("active", "pause")
        waiting = shown["waiting_for"]
        assert waiting["node"] == "pause" and waiting["next_node"] == "remind"
        due = datetime.fromisoformat(run["tasks"][0]["due_at"])
        assert datetime.fromisoformat(waiting["until"]) == due
    until(lambda: _runs(client, shop, status="completed"))
    done = _get(client, shop, f"/api/v1/runs/{listed['id']}")
    assert [(s["kind"], s["node"]) for s in done["steps"]] == [
        ("entered", None), ("waiting", "pause"), ("action", "remind"), ("completed", None)
    ]  # fmt: skip
    assert len(receiver.deliveries) == 1 and done["waiting_for"] is None


def test_a_run_driven_on_by_events_stops_at_its_budget_before_sending(
    tight_client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    client, shop = tight_client, make_shop(engine, kinds=("web",))
    flow = {
        "name": "reminders",
        "trigger": {"event": "Signed Up"},
        "nodes": [
            {"id": "watch", "wait_for_event": {"event": "Product Viewed", "timeout": "1d",
                                               "on_event": "remind"}},
            {"id": "remind", "action": "webhook", "with": {"url": f"{receiver.url}/r"},
             "next": "watch"},
        ],
    }  # fmt: skip
    _publish(client, shop, flow)
    _track(client, shop, "anna", "Signed Up")
    for sent in range(1, 5):  # each view: the event's step (reaching `remind`), then `watch`
        until(lambda: [r["status"] for r in _runs(client, shop)] == ["waiting"])
        _track(client, shop, "anna", "Product Viewed")
        until(lambda: len(receiver.deliveries) == sent or _dead_letters(client, shop))  # noqa: B023
    [letter] = _dead_letters(client, shop)
    assert letter["node"] == "remind" and "step budget exceeded" in letter["error"]["message"]
    assert len(receiver.deliveries) == 3  # the 4th view's reminder was not sent
