"""Team alerts in Slack: a flow's `slack` step renders a slack template for the event and posts
it — text and Block Kit blocks — to a named destination's incoming-webhook URL (a Slack-shaped
receiver on loopback here); 429 and 5xx are tried again, a revoked URL dead-letters the step
with Slack's answer, and neither the URL nor its token is ever shown back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import REGISTRY
from starlette.testclient import TestClient
from typer.testing import CliRunner

from nerve.channels.slack.sink import SlackSink
from nerve.cli import app
from nerve.settings import get_settings
from tests.factories import Shop
from tests.integration.channels.conftest import VAULT_KEY
from tests.waiting import auth, until

LOW_STOCK = {
    "name": "low_stock", "channel": "slack",
    "text": "Low stock: {{ event.properties.name }} ({{ event.properties.sku }})",
    "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "Low stock"}},
        {"type": "section", "text": {"type": "mrkdwn", "text":
            "*{{ event.properties.name }}* is down to {{ event.properties.stock | default: 0 }}; "
            "last asked for by {{ person.traits.first_name | default: 'someone' }}"}},
    ],
}  # fmt: skip


@pytest.fixture
def slack() -> Iterator[SlackSink]:
    sink = SlackSink()
    yield sink
    sink.close()


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _destination(client: TestClient, shop: Shop, url: str, name: str = "team-alerts") -> Any:
    return client.put(f"/api/v1/slack-destinations/{name}", json={"url": url},
                      headers=auth(shop))  # fmt: skip


def _flow(destination: str = "team-alerts", retries: int = 5) -> dict[str, Any]:
    return {"name": "low_stock_alert", "trigger": {"event": "Stock Low"},
            "nodes": [{"id": "tell_team", "action": "slack", "retries": retries,
                       "with": {"template": "low_stock", "destination": destination}}]}  # fmt: skip


def _publish(client: TestClient, shop: Shop, flow: dict[str, Any]) -> Any:
    return client.post("/api/v1/flows", params={"environment": "production"}, json=flow,
                       headers=auth(shop))  # fmt: skip


def _ready(client: TestClient, shop: Shop, slack: SlackSink, retries: int = 5) -> str:
    url = slack.url()
    _ok(client.post("/api/v1/templates", json=LOW_STOCK, headers=auth(shop)), 201)
    _ok(_destination(client, shop, url), 201)
    _ok(_publish(client, shop, _flow(retries=retries)), 201)
    return url


def _stock_low(client: TestClient, shop: Shop, user: str = "anna") -> None:
    identify = {"userId": user, "traits": {"first_name": "Anna", "email": f"{user}@example.com"}}
    track = {"userId": user, "event": "Stock Low",
             "properties": {"sku": "RUN-42", "name": 'Trail "Pro" 2', "stock": 3}}  # fmt: skip
    for path, body in (("identify", identify), ("track", track)):
        response = client.post(f"/v1/{path}", json=body, auth=(shop.write_keys["web"], ""))
        assert response.status_code == 200, response.text


def _messages(client: TestClient, shop: Shop) -> list[dict[str, Any]]:
    found = _ok(client.get("/api/v1/messages", params={"channel": "slack"}, headers=auth(shop)))
    return found["data"]  # type: ignore[no-any-return]


def _answers(outcome: str) -> float:
    """nerve_slack_answers_total{outcome}, in this process (the tests' embedded worker)."""
    found = REGISTRY.get_sample_value("nerve_slack_answers_total", {"outcome": outcome})
    return found or 0.0


def _dead_letters(client: TestClient, shop: Shop) -> list[dict[str, Any]]:
    return _ok(client.get("/api/v1/dead-letters", headers=auth(shop)))["data"]  # type: ignore[no-any-return]


def test_a_slack_step_posts_text_and_blocks_to_the_destination(
    client: TestClient, shop: Shop, slack: SlackSink
) -> None:
    url = _ready(client, shop, slack)
    _stock_low(client, shop)
    [post] = until(lambda: slack.posts)

    assert post.path == url.removeprefix(f"http://127.0.0.1:{slack.port}")
    assert post.headers["content-type"] == "application/json"
    assert post.payload["text"] == 'Low stock: Trail "Pro" 2 (RUN-42)'
    header, section = post.payload["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": "Low stock"}}
    # Each string rendered on its own: the quotes in the product's name stay quotes.
    assert section["text"]["text"] == '*Trail "Pro" 2* is down to 3; last asked for by Anna'

    [logged] = until(lambda: [m for m in _messages(client, shop) if m["status"] == "sent"])
    assert logged["recipient"] == "team-alerts" and logged["kind"] == "transactional"
    assert logged["template"] == "low_stock" and logged["flow"] == "low_stock_alert"
    assert logged["subject"] == 'Low stock: Trail "Pro" 2 (RUN-42)'
    assert logged["details"] == {"destination": "team-alerts", "http_status": 200}


def test_a_429_is_tried_again_then_delivered(
    client: TestClient, shop: Shop, slack: SlackSink
) -> None:
    slack.answers += [(429, "rate_limited"), (503, "")]
    before = {outcome: _answers(outcome) for outcome in ("throttled", "down", "sent")}
    _ready(client, shop, slack)
    _stock_low(client, shop)
    [post] = until(lambda: slack.posts)
    assert slack.attempts == 3 and post.payload["text"].startswith("Low stock")
    assert not _dead_letters(client, shop)
    until(lambda: _answers("sent") == before["sent"] + 1)
    assert _answers("throttled") == before["throttled"] + 1
    assert _answers("down") == before["down"] + 1


@pytest.mark.parametrize("answer", [(404, "no_service"), (410, "channel_is_archived")])
def test_a_revoked_url_dead_letters_the_step_and_a_new_url_and_a_replay_deliver(
    client: TestClient, shop: Shop, slack: SlackSink, answer: tuple[int, str]
) -> None:
    slack.answers.append(answer)
    url = _ready(client, shop, slack)
    _stock_low(client, shop)
    [letter] = until(lambda: _dead_letters(client, shop))
    message = letter["error"]["message"]
    assert f"{answer[0]} {answer[1]}" in message and "nerve slack add team-alerts" in message
    assert letter["error"]["permanent"] is True and slack.attempts == 1
    [failed] = _messages(client, shop)
    assert failed["status"] == "failed" and answer[1] in failed["reason"]
    token = url.rsplit("/", 1)[1]
    assert token not in str(letter) and token not in str(failed)

    _ok(_destination(client, shop, slack.url("B0NEW")), 200)  # the URL Slack gave anew
    _ok(client.post(f"/api/v1/dead-letters/{letter['id']}/replay", headers=auth(shop)))
    [post] = until(lambda: slack.posts)
    assert post.path.startswith("/services/T0SHOP/B0NEW/")
    [sent] = until(lambda: [m for m in _messages(client, shop) if m["status"] == "sent"])
    assert sent["id"] == failed["id"]  # the same send, delivered on its replay


def test_an_unknown_destination_is_refused_at_publishing(
    client: TestClient, shop: Shop, slack: SlackSink
) -> None:
    _ok(client.post("/api/v1/templates", json=LOW_STOCK, headers=auth(shop)), 201)
    refused = _ok(_publish(client, shop, _flow("nowhere")), 400)["error"]
    assert refused["code"] == "invalid_flow"
    [problem] = refused["details"]
    assert problem["path"] == "nodes[0].with.destination"
    assert "no Slack destination named 'nowhere'" in problem["reason"]

    missing = {**_flow(), "nodes": [{**_flow()["nodes"][0], "with": {"template": "low_stock"}}]}
    [problem] = _ok(_publish(client, shop, missing), 400)["error"]["details"]
    assert problem["path"] == "nodes[0].with.destination"
    misspelt = _publish(client, shop, _flow("Team Alerts!")).json()["error"]["details"]
    assert [p["path"] for p in misspelt] == ["nodes[0].with.destination"]


def test_a_destination_removed_after_publishing_dead_letters_with_the_reason(
    client: TestClient, shop: Shop, slack: SlackSink
) -> None:
    _ready(client, shop, slack, retries=0)
    deleted = client.delete("/api/v1/secrets/slack.team-alerts", headers=auth(shop))
    assert deleted.status_code == 204, deleted.text
    _stock_low(client, shop)
    [letter] = until(lambda: _dead_letters(client, shop))
    assert "no Slack destination named 'team-alerts'" in letter["error"]["message"]
    assert slack.attempts == 0


def test_destinations_are_listed_without_their_urls(
    client: TestClient, shop: Shop, slack: SlackSink
) -> None:
    url = slack.url()
    made = _ok(_destination(client, shop, url), 201)
    assert made["name"] == "team-alerts" and made["url_hint"] == f"http://127.0.0.1:{slack.port}/…"
    _ok(_destination(client, shop, slack.url()), 200)  # replaced
    listed = _ok(client.get("/api/v1/slack-destinations", headers=auth(shop)))["data"]
    assert [d["name"] for d in listed] == ["team-alerts"]
    assert "/services/" not in str(listed) and "/services/" not in str(made)
    secrets = _ok(client.get("/api/v1/secrets", headers=auth(shop)))["data"]
    assert "slack.team-alerts" in [s["name"] for s in secrets]

    bad = _ok(_destination(client, shop, "ftp://hooks.slack.com/x"), 400)["error"]
    assert bad["details"]["path"] == "url"
    inside = _ok(_destination(client, shop, "http://10.0.0.1/hook"), 400)["error"]
    assert "10.0.0.1" in inside["message"]
    assert client.put("/api/v1/slack-destinations/Bad!", json={"url": url},
                      headers=auth(shop)).status_code in (400, 404, 422)  # fmt: skip
    assert client.delete("/api/v1/slack-destinations/team-alerts",
                         headers=auth(shop)).status_code == 204  # fmt: skip
    gone = client.get("/api/v1/slack-destinations/team-alerts", headers=auth(shop))
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"


def test_the_cli_adds_from_standard_input_lists_hosts_only_and_tests_a_destination(
    database_url: str, slack: SlackSink
) -> None:
    env = {"NERVE_DATABASE_URL": database_url, "NERVE_API_KEY": "", "NERVE_SECRET_KEY": VAULT_KEY,
           "NERVE_OUTBOUND_ALLOW": "127.0.0.1/32"}  # fmt: skip

    def nerve(*args: str, stdin: str | None = None) -> Any:
        get_settings.cache_clear()  # the settings are read once per process
        try:
            result = CliRunner().invoke(app, [*args, "--json"], env=env, input=stdin)
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 0, result.stdout
        return json.loads(result.stdout)

    url = slack.url()
    added = nerve("slack", "add", "team-alerts", stdin=url + "\n")  # never on the command line
    assert added["url_hint"] == f"http://127.0.0.1:{slack.port}/…"
    listed = nerve("slack", "list")["data"]
    assert [d["name"] for d in listed] == ["team-alerts"] and url not in json.dumps(listed)
    assert nerve("slack", "test", "team-alerts") == {"name": "team-alerts", "http_status": 200}
    [post] = slack.posts
    assert "team-alerts" in post.payload["text"]
    assert nerve("slack", "remove", "team-alerts")["removed"] is True


def test_a_catalog_flow_posts_the_shops_low_stock_to_slack(
    client: TestClient, shop: Shop, slack: SlackSink
) -> None:
    """A run started by a catalog event belongs to the shop, not to a person: its Slack step
    is not held back as if someone had been erased."""
    template = {
        "name": "restock",
        "channel": "slack",
        "text": "Restock {{ event.properties.sku }}: {{ event.properties.level | default: 0 }} left",
    }
    flow = {"name": "restock_alert",
            "trigger": {"type": "catalog", "event": "stock_below_minimum",
                        "key": "properties.sku", "reentry": "always"},
            "nodes": [{"id": "tell_team", "action": "slack",
                       "with": {"template": "restock", "destination": "team-alerts"}}]}  # fmt: skip
    _ok(client.post("/api/v1/templates", json=template, headers=auth(shop)), 201)
    _ok(_destination(client, shop, slack.url()), 201)
    _ok(_publish(client, shop, flow), 201)
    product = b'{"sku": "RUN-42", "name": "Trail Pro", "price": "89.90", "currency": "EUR"}'
    _ok(client.put("/api/v1/products", content=product,
                   headers=auth(shop) | {"Content-Type": "application/x-ndjson"}))  # fmt: skip
    _ok(client.patch("/api/v1/inventory/RUN-42", json={"on_hand": 10, "minimum": 5},
                     headers=auth(shop)))  # fmt: skip
    _ok(client.patch("/api/v1/inventory/RUN-42", json={"on_hand": 2}, headers=auth(shop)))

    [post] = until(lambda: slack.posts)
    assert post.payload["text"] == "Restock RUN-42: 2 left"
    [logged] = until(lambda: [m for m in _messages(client, shop) if m["status"] == "sent"])
    assert logged["flow"] == "restock_alert" and logged["recipient"] == "team-alerts"
