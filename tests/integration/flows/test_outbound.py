"""Flows under the outbound policy, on both databases: a webhook target the policy refuses as
written is refused when the flow is validated, tested or published, with the path of the
field; one it refuses when the call is made (a version published under another policy, a name
that now resolves inside) goes to the dead-letter queue at once with the reason; a redirect
fails the step without being followed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from nerve.app import create_app
from nerve.db.engine import write_transaction
from nerve.flows.definition import validate
from nerve.flows.versions import publish
from nerve.settings import Settings
from tests.factories import Shop, make_shop
from tests.receivers import Receiver
from tests.waiting import auth, until


@pytest.fixture
def strict(settings: Settings) -> Iterator[TestClient]:
    """The app as deployed by default: NERVE_OUTBOUND_ALLOW unset, loopback refused."""
    default = settings.model_copy(update={"outbound_allow": []})
    with TestClient(create_app(default)) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def _flow(*urls: str) -> dict[str, Any]:
    nodes = [{"id": f"call_{n}", "action": "webhook", "with": {"url": url}, "retries": 3}
             for n, url in enumerate(urls)]  # fmt: skip
    return {"name": "remind", "trigger": {"event": "Checkout Started"}, "nodes": nodes}


REFUSED = {
    "http://169.254.169.254/latest/meta-data/": "169.254.169.254 is link-local",
    "http://10.0.0.1/erp": "10.0.0.1 is private (RFC 1918)",
    "http://127.0.0.1:8025/remind": "127.0.0.1 is loopback",
    "http://localhost:8025/remind": "localhost is 127.0.0.1, loopback",
    "file:///etc/passwd": "must be an http or https URL, not file",
    "gopher://127.0.0.1:6379/_": "must be an http or https URL, not gopher",
}


def test_refused_targets_are_refused_at_publish_and_in_a_test_with_their_paths(
    strict: TestClient, engine: Engine
) -> None:
    shop = make_shop(engine, kinds=("web",))
    flow = _flow("https://shop.example/remind", *REFUSED)
    response = strict.post("/api/v1/flows", json=flow, headers=auth(shop))
    assert response.status_code == 400
    problems = {p["path"]: p["reason"] for p in response.json()["error"]["details"]}
    assert set(problems) == {f"nodes[{n}].with.url" for n in range(1, len(REFUSED) + 1)}
    for n, reason in enumerate(REFUSED.values(), 1):
        assert reason in problems[f"nodes[{n}].with.url"]
    assert "NERVE_OUTBOUND_ALLOW" in problems["nodes[1].with.url"]
    drafted = strict.post("/api/v1/flows/test", json={"flow": flow, "events": []},
                          headers=auth(shop))  # fmt: skip
    assert drafted.status_code == 400
    assert {p["path"] for p in drafted.json()["error"]["details"]} == set(problems)
    assert strict.get("/api/v1/flows", headers=auth(shop)).json()["data"] == []


def test_a_loopback_receiver_is_called_when_the_setting_allows_it(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine, kinds=("web",))
    flow = _flow(f"{receiver.url}/remind")
    response = client.post("/api/v1/flows", params={"environment": "production"}, json=flow,
                           headers=auth(shop))  # fmt: skip
    assert response.status_code == 201, response.text
    _checkout(client, shop)
    until(lambda: receiver.deliveries)
    assert receiver.deliveries[0].path == "/remind"


def _checkout(client: TestClient, shop: Shop) -> None:
    message = {"userId": "anna", "event": "Checkout Started", "properties": {"cart_id": "c1"}}
    response = client.post("/v1/track", json=message, auth=(shop.write_keys["web"], ""))
    assert response.status_code == 200


def _dead_letters(client: TestClient, shop: Shop) -> list[dict[str, Any]]:
    return client.get("/api/v1/dead-letters", headers=auth(shop)).json()["data"]  # type: ignore[no-any-return]


def test_a_target_refused_when_called_is_dead_lettered_at_once_with_the_reason(
    strict: TestClient, engine: Engine, receiver: Receiver
) -> None:
    """Published while loopback was allowed (or by an older Nerve); the workers now run under
    the default policy: nothing is sent, and no retry will send it."""
    shop = make_shop(engine, kinds=("web",))
    with write_transaction(engine) as conn:
        flow = validate(_flow(f"http://localhost:{receiver.port}/remind"))  # as stored: unchecked
        publish(conn, shop.workspace_id, flow, "production")
    _checkout(strict, shop)
    [letter] = until(lambda: _dead_letters(strict, shop))
    assert letter["attempts"] == 1 and letter["error"]["permanent"] is True
    assert letter["error"]["message"].startswith("webhook `url` refused: localhost is 127.0.0.1")
    assert receiver.attempts == 0


def test_a_redirect_fails_the_step_at_once_and_is_not_followed(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine, kinds=("web",))
    receiver.fail_with, receiver.location = 307, "http://169.254.169.254/latest/meta-data/"
    response = client.post("/api/v1/flows", params={"environment": "production"},
                           json=_flow(f"{receiver.url}/remind"), headers=auth(shop))  # fmt: skip
    assert response.status_code == 201, response.text
    _checkout(client, shop)
    [letter] = until(lambda: _dead_letters(client, shop))
    assert letter["error"]["permanent"] is True and receiver.attempts == 1
    assert letter["error"]["message"] == (
        "receiver answered 307, redirecting to http://169.254.169.254/latest/meta-data/; "
        "redirects are not followed: put the URL they point to in the flow"
    )
