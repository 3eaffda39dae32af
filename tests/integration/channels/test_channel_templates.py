"""Templates of the channels beside email — an SMS, a push, a Slack message with Block Kit
blocks — saved, checked and previewed over HTTP like a mail's; a step naming a template of
another channel is refused when its flow is published."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.factories import Shop

SMS = {"name": "cart_sms", "channel": "sms",
       "text": "Hi {{ person.traits.first_name | default: 'there' }}, your cart is waiting"}  # fmt: skip
PUSH = {"name": "coffee_push", "channel": "push", "title": "{{ event.properties.brand | default: 'Coffee' }}",
        "body": "20 % off today", "url": "https://shop.example/coffee"}  # fmt: skip
SLACK = {
    "name": "low_stock", "channel": "slack", "text": "Low stock: {{ event.properties.sku }}",
    "blocks": [{"type": "section", "text": {"type": "mrkdwn",
                "text": "*{{ event.properties.name }}* is at {{ event.properties.level | default: 0 }}"}}],
}  # fmt: skip


def _admin(shop: Shop) -> dict[str, str]:
    return {"Authorization": f"Bearer {shop.secret_key}"}


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_each_channel_saves_lists_and_previews(client: TestClient, shop: Shop) -> None:
    for template in (SMS, PUSH, SLACK):
        _ok(client.post("/api/v1/templates", json=template, headers=_admin(shop)), 201)
    listed = _ok(client.get("/api/v1/templates", headers=_admin(shop)))["data"]
    assert {t["name"]: t["channel"] for t in listed} == {
        "cart_sms": "sms", "coffee_push": "push", "low_stock": "slack"
    }  # fmt: skip
    detail = _ok(client.get("/api/v1/templates/cart_sms", headers=_admin(shop)))
    assert detail["channel"] == "sms" and detail["compiled"]["text"] == SMS["text"]

    context = {"event": {"properties": {"sku": "RUN-1", "name": 'Trail "Pro" 42', "level": 2}}}
    shown = _ok(client.post("/api/v1/templates/low_stock/preview", json={"context": context},
                            headers=_admin(shop)))  # fmt: skip
    assert shown["text"] == "Low stock: RUN-1"
    # Each string of the blocks is rendered on its own: a quote in a value stays a quote.
    assert shown["blocks"][0]["text"]["text"] == '*Trail "Pro" 42* is at 2'
    sms = _ok(client.post("/api/v1/templates/cart_sms/preview", json={}, headers=_admin(shop)))
    assert sms["text"].startswith("Hi ") and sms["version"] == 1


def test_bad_channel_templates_are_refused_with_the_place(client: TestClient, shop: Shop) -> None:
    bad_liquid = {**SLACK, "blocks": [{"type": "section", "text": {"text": "{% if %}"}}]}
    problems = _ok(client.post("/api/v1/templates", json=bad_liquid, headers=_admin(shop)), 400)
    assert [p["path"].split(":")[0] for p in problems["error"]["details"]] == [
        "blocks[0].text.text"
    ]
    unknown = _ok(client.post("/api/v1/templates", json={**SMS, "channel": "fax"},
                              headers=_admin(shop)), 400)  # fmt: skip
    assert "'email', 'sms', 'push', 'slack'" in str(unknown)
    too_long = _ok(client.post("/api/v1/templates", json={**SMS, "text": "x" * 1601},
                               headers=_admin(shop)), 400)  # fmt: skip
    assert "text" in str(too_long)
    for not_an_object in ([SMS], "sms", 7, None):
        refused = client.post("/api/v1/templates", json=not_an_object, headers=_admin(shop))
        assert refused.status_code == 400, (not_an_object, refused.text)
    bad_url = _ok(client.post("/api/v1/templates", json={**PUSH, "url": "not a url"},
                              headers=_admin(shop)), 400)  # fmt: skip
    assert "url" in str(bad_url)


def test_a_step_naming_another_channels_template_is_refused(client: TestClient, shop: Shop) -> None:
    _ok(client.post("/api/v1/templates", json=SMS, headers=_admin(shop)), 201)
    flow = {"name": "mixed", "trigger": {"event": "Cart Abandoned"}, "nodes": [
        {"id": "mail", "action": "send_email", "with": {"template": "cart_sms",
                                                       "transactional": True}},
    ]}  # fmt: skip
    refused = _ok(client.post("/api/v1/flows", json=flow, headers=_admin(shop)), 400)
    [problem] = refused["error"]["details"]
    assert problem["path"] == "nodes[0].with.template"
    assert "is a sms template" in problem["reason"]
