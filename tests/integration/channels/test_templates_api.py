"""Templates as a builder saves and previews them over HTTP: versions, unchanged saves, a preview
for a real person, clear refusals, and who may do what."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine
from starlette.testclient import TestClient

from nerve.channels.sample import SAMPLE
from tests.factories import Shop, make_key
from tests.smtp import SmtpSink
from tests.waiting import until

TEMPLATE = {
    "name": "cart_reminder_1",
    "subject": "{{ person.traits.first_name | default: 'Hi' }}, your cart is waiting",
    "preheader": "Saved for you",
    "html": "<style>a { color: #c00 }</style><p>Hello {{ person.traits.first_name | default: "
    "'there' }}</p>{% for p in cart.products %}<a href='{{ p.url }}'>{{ p.name }}</a>{% endfor %}",
}


def _bearer(secret_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret_key}"}


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_each_change_is_a_version_and_an_unchanged_save_is_not(
    client: TestClient, shop: Shop
) -> None:
    admin = _bearer(shop.secret_key)
    first = _ok(client.post("/api/v1/templates", json=TEMPLATE, headers=admin), 201)
    assert (first["version"], first["unchanged"]) == (1, False)
    again = _ok(client.post("/api/v1/templates", json=TEMPLATE, headers=admin), 200)
    assert (again["version"], again["unchanged"]) == (1, True)
    changed = {**TEMPLATE, "subject": "Your cart"}
    assert _ok(client.post("/api/v1/templates", json=changed, headers=admin), 201)["version"] == 2

    detail = _ok(client.get("/api/v1/templates/cart_reminder_1", headers=admin))
    assert detail["version"] == 2 and [v["version"] for v in detail["versions"]] == [2, 1]
    assert 'style="color: #c00;"' in detail["compiled"]["html"]
    assert "{{ p.name }} ({{ p.url }})" in detail["compiled"]["text"]
    old = _ok(client.get("/api/v1/templates/cart_reminder_1/versions/1", headers=admin))
    assert old["source"]["subject"] == TEMPLATE["subject"]
    [listed] = _ok(client.get("/api/v1/templates", headers=admin))["data"]
    assert (listed["name"], listed["version"]) == ("cart_reminder_1", 2)


def test_a_preview_renders_for_a_real_person(client: TestClient, shop: Shop) -> None:
    admin = _bearer(shop.secret_key)
    _ok(client.post("/api/v1/templates", json=TEMPLATE, headers=admin), 201)
    identify = {"userId": "u-7", "traits": {"first_name": "Jana", "email": "jana@example.com"}}
    _ok(client.post("/v1/identify", json=identify, auth=(shop.write_keys["web"], "")))
    deadline = time.monotonic() + 15
    while (person := client.get("/api/v1/profiles", params={"identifier": "user_id:u-7"},
                                headers=admin)).status_code != 200:  # fmt: skip
        assert time.monotonic() < deadline
        time.sleep(0.05)
    cart = {"cart": {"products": [{"name": "Tea", "url": "https://s.example/tea"}]}}
    preview = _ok(
        client.post(
            "/api/v1/templates/cart_reminder_1/preview",
            json={"profile_id": person.json()["id"], "context": cart}, headers=admin,
        )
    )  # fmt: skip
    assert preview["subject"] == "Jana, your cart is waiting"
    assert "Hello Jana" in preview["html"] and "Tea (https://s.example/tea)" in preview["text"]
    sample = _ok(client.post("/api/v1/templates/cart_reminder_1/preview", json={}, headers=admin))
    assert sample["subject"] == "Anna, your cart is waiting"  # the sample person
    missing = client.post(
        "/api/v1/templates/cart_reminder_1/preview", json={"profile_id": "prf_nobody"},
        headers=admin,
    )  # fmt: skip
    assert missing.status_code == 404


def test_a_broken_template_is_refused_with_where_and_nothing_is_kept(
    client: TestClient, shop: Shop
) -> None:
    admin = _bearer(shop.secret_key)
    broken = {**TEMPLATE, "html": "<p>{{ self.__class__ }}</p>", "subject": "{% if x %}"}
    response = client.post("/api/v1/templates", json=broken, headers=admin)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_template"
    assert [p["path"] for p in error["details"]] == ["subject:1:11", "html:1:7"]
    assert _ok(client.get("/api/v1/templates", headers=admin))["data"] == []
    unknown = client.get("/api/v1/templates/nope", headers=admin)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


def test_builders_write_analysts_read_staff_neither(
    client: TestClient, shop: Shop, engine: Engine
) -> None:
    keys = {role: _bearer(make_key(engine, shop.workspace_id, role))
            for role in ("builder", "analyst", "staff")}  # fmt: skip
    _ok(client.post("/api/v1/templates", json=TEMPLATE, headers=keys["builder"]), 201)
    _ok(client.get("/api/v1/templates/cart_reminder_1", headers=keys["analyst"]))
    for role, headers in (("analyst", keys["analyst"]), ("staff", keys["staff"])):
        refused = client.post("/api/v1/templates", json=TEMPLATE, headers=headers)
        assert refused.status_code == 403, role
    assert client.get("/api/v1/templates", headers=keys["staff"]).status_code == 403


MJML_TEMPLATE = {
    "name": "welcome",
    "subject": "Welcome, {{ person.traits.first_name | default: 'friend' }}",
    "mjml": "<mjml><mj-body><mj-section><mj-column><mj-text>Hello {{ person.traits.first_name "
    "| default: 'there' }}</mj-text><mj-button href='https://shop.example/new'>New in</mj-button>"
    "</mj-column></mj-section></mj-body></mjml>",
}


def test_a_test_send_of_an_mjml_template_reaches_the_inbox(
    client: TestClient, shop: Shop, sink: SmtpSink, engine: Engine
) -> None:
    admin = _bearer(shop.secret_key)
    _ok(client.post("/api/v1/templates", json=MJML_TEMPLATE, headers=admin), 201)
    sent = _ok(client.post("/api/v1/templates/welcome/test-send",
                           json={"to": "marketing@shop.example"}, headers=admin), 201)  # fmt: skip
    assert sent["status"] == "sent"
    [mail] = until(lambda: sink.received)
    assert mail["To"] == "marketing@shop.example"
    assert mail["Subject"] == f"[Test] Welcome, {SAMPLE['person']['traits']['first_name']}"
    html = mail.get_body(("html",)).get_content()
    assert "@media only screen" in html and "New in" in html  # MJML's responsive layout
    assert "List-Unsubscribe" not in mail  # not a marketing mail: no consent asked of the team
    analyst = _bearer(make_key(engine, shop.workspace_id, "analyst"))
    refused = client.post("/api/v1/templates/welcome/test-send", json={"to": "x@example.com"},
                          headers=analyst)  # fmt: skip
    assert refused.status_code == 403
    missing = client.post("/api/v1/templates/nope/test-send", json={"to": "x@example.com"},
                          headers=admin)  # fmt: skip
    assert missing.status_code == 404
    broken = {**MJML_TEMPLATE, "mjml": "<mjml><mj-body><mj-foo/></mj-body></mjml>"}
    refused = client.post("/api/v1/templates", json=broken, headers=admin)
    assert refused.status_code == 400 and "mj-foo" in refused.text
