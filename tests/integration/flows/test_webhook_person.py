"""A webhook carries the person as Nerve sees them when the step is sent — identifiers and
traits over every device, as the node asks — so the receiver need not call back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from tests.factories import Shop, make_shop
from tests.receivers import Receiver
from tests.waiting import auth, until

ANNA = {"email": "anna@example.com", "first_name": "Anna", "plan": "gold",
        "phone": "+4915112345678"}  # fmt: skip


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def _publish(client: TestClient, shop: Shop, with_: dict[str, Any], wait: str = "1s") -> None:
    flow = {
        "name": "remind",
        "trigger": {"event": "Checkout Started"},
        "nodes": [{"id": "pause", "wait": wait},
                  {"id": "remind", "action": "webhook", "with": with_}],
    }  # fmt: skip
    response = client.post("/api/v1/flows", params={"environment": "production"}, json=flow,
                           headers=auth(shop))  # fmt: skip
    assert response.status_code == 201, response.text


def _send(client: TestClient, shop: Shop, path: str, message: dict[str, Any]) -> None:
    response = client.post(path, json=message, auth=(shop.write_keys["web"], ""))
    assert response.status_code == 200, response.text


def _anna_checks_out(client: TestClient, shop: Shop) -> None:
    """Anna browses anonymously, signs in on the same device, then starts a checkout."""
    _send(client, shop, "/v1/identify",
          {"anonymousId": "device-1", "userId": "anna-42", "traits": ANNA})  # fmt: skip
    _send(client, shop, "/v1/track", {"userId": "anna-42", "event": "Checkout Started",
                                      "properties": {"cart_id": "c1"}})  # fmt: skip


def _person(receiver: Receiver) -> Any:
    [delivery] = until(lambda: receiver.deliveries)
    return delivery.body["person"]


def test_by_default_the_person_comes_with_their_identifiers_and_every_trait(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine, kinds=("web",))
    _publish(client, shop, {"url": f"{receiver.url}/remind", "body": {"step": 1}})
    _anna_checks_out(client, shop)
    [delivery] = until(lambda: receiver.deliveries)
    body = delivery.body
    assert set(body) == {"flow", "run_id", "node", "profile_id", "data", "trigger", "person"}
    assert body["data"] == {"step": 1} and body["trigger"]["properties"] == {"cart_id": "c1"}
    assert body["person"] == {
        "identifiers": [  # the device's anonymous id is not among them
            {"type": "email", "value": "anna@example.com"},
            {"type": "phone", "value": "+4915112345678"},
            {"type": "user_id", "value": "anna-42"},
        ],
        "traits": ANNA,
    }


def test_the_node_chooses_identifiers_and_traits(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine, kinds=("web",))
    chosen = {"identifiers": ["email", "anonymous_id"], "traits": ["first_name", "missing"]}
    _publish(client, shop, {"url": receiver.url, "person": chosen})
    _anna_checks_out(client, shop)
    assert _person(receiver) == {
        "identifiers": [{"type": "anonymous_id", "value": "device-1"},
                        {"type": "email", "value": "anna@example.com"}],
        "traits": {"first_name": "Anna"},
    }  # fmt: skip


def test_person_false_sends_none(client: TestClient, engine: Engine, receiver: Receiver) -> None:
    shop = make_shop(engine, kinds=("web",))
    _publish(client, shop, {"url": receiver.url, "person": False})
    _anna_checks_out(client, shop)
    assert _person(receiver) is None


def test_the_person_is_read_when_the_step_is_sent_not_when_the_run_started(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine, kinds=("web",))
    _publish(client, shop, {"url": receiver.url, "person": {"traits": ["first_name"]}}, "2s")
    _anna_checks_out(client, shop)
    _send(client, shop, "/v1/identify", {"userId": "anna-42", "traits": {"first_name": "Anne"}})
    assert _person(receiver)["traits"] == {"first_name": "Anne"}


@pytest.mark.parametrize(
    ("person", "path", "reason"),
    [
        ("yes", "person", "must be true, false or {identifiers"),
        ({"identifier": ["email"]}, "person.identifier", "is not a field; allowed here: identifiers, traits"),
        ({"traits": "first_name"}, "person.traits", "must be a list"),
        ({"identifiers": [""]}, "person.identifiers[0]", "must not be empty"),
    ],
)  # fmt: skip
def test_a_person_option_that_cannot_be_read_is_refused_at_publish(
    client: TestClient, engine: Engine, person: Any, path: str, reason: str
) -> None:
    shop = make_shop(engine, kinds=("web",))
    flow = {"name": "remind", "trigger": {"event": "Checkout Started"}, "nodes": [
        {"id": "remind", "action": "webhook",
         "with": {"url": "https://shop.example/remind", "person": person}}]}  # fmt: skip
    response = client.post("/api/v1/flows", json=flow, headers=auth(shop))
    assert response.status_code == 400
    [problem] = response.json()["error"]["details"]
    assert problem["path"] == f"nodes[0].with.{path}"
    assert problem["reason"].startswith(reason)
