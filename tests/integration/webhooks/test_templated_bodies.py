"""A webhook's body and headers are templates over the person, the event, the cart and the
order: a shop maps its fields onto its CRM's (`first_name` → `firstName`, an upsert key of email
and shop id) without code. The request is still signed over exactly what is sent; a body that
cannot render — or, as a template, not to JSON — is refused at publishing with its path; and
every webhook step is in the message log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.testclient import TestClient

from nerve.app import create_app
from nerve.secrets.vault import new_key
from nerve.settings import Settings
from tests.factories import Shop
from tests.receivers import Delivery, Receiver
from tests.waiting import auth, until

ANNA = {"email": "Anna.Berg@example.com", "first_name": 'Anna "Annie"', "last_name": "Bärg",
        "plan": "gold"}  # fmt: skip
ORDER = {"order_id": "S-1001", "total": 129.9, "currency": "EUR", "products": [
    {"product_id": "RUN-42", "name": "Trail Runner 2", "price": 119.9, "quantity": 1},
    {"product_id": "SOCK-1", "name": "Running socks", "price": 10.0, "quantity": 2},
]}  # fmt: skip
# The guide's mapping table: the shop's fields → the CRM's, upserted by email and shop id.
CRM_BODY = {
    "upsertKey": {"email": "{{ person.email }}", "shopId": "shop-de"},
    "contact": {
        "firstName": "{{ person.traits.first_name }}",
        "lastName": "{{ person.traits.last_name }}",
        "fullName": "{{ person.traits.first_name }} {{ person.traits.last_name }}",
        "tier": "{{ person.traits.plan | default: 'standard' | upcase }}",
        "nickname": "{{ person.traits.nickname }}",
    },
    "lastOrder": {"id": "{{ order.order_id }}", "total": "{{ order.total }}",
                  "items": "{{ order.products.size }}"},
}  # fmt: skip


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    keyed = settings.model_copy(update={"secret_key": SecretStr(new_key())})
    with TestClient(create_app(keyed)) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def _endpoint(client: TestClient, shop: Shop, url: str) -> str:
    created = client.post("/api/v1/webhook-endpoints", json={"name": "crm", "url": url},
                          headers=auth(shop))  # fmt: skip
    assert created.status_code == 201, created.text
    return str(created.json()["secret"])


def _publish(client: TestClient, shop: Shop, with_: dict[str, Any], retries: int = 0) -> Any:
    flow = {"name": "sync_crm", "trigger": {"event": "Order Completed"},
            "nodes": [{"id": "to_crm", "action": "webhook", "with": with_,
                       "retries": retries}]}  # fmt: skip
    return client.post("/api/v1/flows", params={"environment": "production"}, json=flow,
                       headers=auth(shop))  # fmt: skip


def _anna_orders(client: TestClient, shop: Shop) -> None:
    for path, body in (
        ("identify", {"userId": "anna-42", "traits": ANNA}),
        ("track", {"userId": "anna-42", "event": "Order Completed", "properties": ORDER}),
    ):
        response = client.post(f"/v1/{path}", json=body, auth=(shop.write_keys["web"], ""))
        assert response.status_code == 200, response.text


def _delivered(receiver: Receiver) -> Delivery:
    [delivery] = until(lambda: receiver.deliveries)
    return delivery  # type: ignore[no-any-return]


def _problems(response: Any) -> dict[str, str]:
    assert response.status_code == 400, response.text
    return {p["path"]: p["reason"] for p in response.json()["error"]["details"]}


def _webhook_messages(client: TestClient, shop: Shop) -> list[dict[str, Any]]:
    found = client.get("/api/v1/messages", params={"channel": "webhook"}, headers=auth(shop))
    assert found.status_code == 200, found.text
    return found.json()["data"]  # type: ignore[no-any-return]


def test_a_crm_mapping_is_sent_as_the_whole_body_signed_with_the_persons_traits(
    client: TestClient, shop: Shop, receiver: Receiver
) -> None:
    secret = _endpoint(client, shop, f"{receiver.url}/contacts")
    headers = {"X-Shop-Id": "shop-de", "X-Customer": "{{ person.user_id }}",
               "X-Name": "{{ person.traits.last_name }}"}  # fmt: skip
    with_ = {"endpoint": "crm", "envelope": False, "body": CRM_BODY, "headers": headers}
    assert _publish(client, shop, with_).status_code == 201
    _anna_orders(client, shop)
    delivery = _delivered(receiver)

    assert delivery.body == {
        "upsertKey": {"email": "anna.berg@example.com", "shopId": "shop-de"},
        "contact": {"firstName": 'Anna "Annie"', "lastName": "Bärg",
                    "fullName": 'Anna "Annie" Bärg', "tier": "GOLD", "nickname": None},
        "lastOrder": {"id": "S-1001", "total": 129.9, "items": "2"},
    }  # fmt: skip
    # Signed over the bytes the templates made, as every endpoint's request.
    assert Webhook(secret).verify(delivery.raw, delivery.headers) == delivery.body
    assert delivery.headers["X-Shop-Id"] == "shop-de"
    assert delivery.headers["X-Customer"] == "anna-42"
    assert delivery.headers["X-Name"].encode("latin-1").decode() == "Bärg"  # UTF-8 on the wire
    assert delivery.headers["webhook-id"] == delivery.headers["idempotency-key"]


def test_a_body_template_renders_a_list_in_a_loop_within_the_envelope(
    client: TestClient, shop: Shop, receiver: Receiver
) -> None:
    template = (
        '{"email": {{ person.email | json }}, "name": {{ person.traits.first_name | json }},'
        ' "lines": [{% for p in order.products %}{"sku": {{ p.product_id | json }},'
        ' "qty": {{ p.quantity }}}{% unless forloop.last %},{% endunless %}{% endfor %}]}'
    )
    assert _publish(client, shop, {"url": f"{receiver.url}/orders",
                                   "body_template": template}).status_code == 201  # fmt: skip
    _anna_orders(client, shop)
    delivery = _delivered(receiver)
    assert delivery.body["flow"] == "sync_crm" and delivery.body["person"] is not None
    assert delivery.body["data"] == {
        "email": "anna.berg@example.com", "name": 'Anna "Annie"',
        "lines": [{"sku": "RUN-42", "qty": 1}, {"sku": "SOCK-1", "qty": 2}],
    }  # fmt: skip


def test_bodies_and_headers_that_cannot_render_are_refused_at_publishing_with_their_paths(
    client: TestClient, shop: Shop, receiver: Receiver
) -> None:
    url = f"{receiver.url}/x"
    not_json = _problems(_publish(client, shop, {
        "url": url, "body_template": '{"name": {{ person.traits.first_name }}}'}))  # fmt: skip
    assert list(not_json) == ["nodes[0].with.body_template"]
    assert (
        "does not render to JSON for the sample person" in not_json["nodes[0].with.body_template"]
    )
    assert "| json" in not_json["nodes[0].with.body_template"]

    bad = _problems(_publish(client, shop, {"url": url, "body": {
        "crm": {"first": "{{ shop.name }}", "last": "{{ person.traits.last_name "},
        "fine": "{{ person.email }}"}}))  # fmt: skip
    assert set(bad) == {"nodes[0].with.body.crm.first", "nodes[0].with.body.crm.last"}
    assert "unknown name 'shop'" in bad["nodes[0].with.body.crm.first"]
    undefined = _problems(_publish(client, shop, {"url": url, "body": {
        "nick": "Hi {{ person.traits.nickname }}"}}))  # fmt: skip
    assert "add a default" in undefined["nodes[0].with.body.nick"]

    headers = _problems(_publish(client, shop, {"url": url, "headers": {
        "webhook-signature": "v1,forged", "Content-Type": "text/plain", "Bad Name": "x",
        "X-Ok": "{{ person.email }}"}}))  # fmt: skip
    assert set(headers) == {"nodes[0].with.headers.webhook-signature",
                            "nodes[0].with.headers.Content-Type",
                            "nodes[0].with.headers.Bad Name"}  # fmt: skip
    assert "set by Nerve" in headers["nodes[0].with.headers.webhook-signature"]

    both = _problems(_publish(client, shop, {"url": url, "body": {}, "body_template": "{}"}))
    assert list(both) == ["nodes[0].with.body_template"]
    person = _problems(_publish(client, shop, {"url": url, "envelope": False, "person": True}))
    assert list(person) == ["nodes[0].with.person"]
    assert receiver.attempts == 0


def test_every_webhook_step_is_in_the_message_log_a_410_as_failed_and_dead_lettered(
    client: TestClient, shop: Shop, receiver: Receiver
) -> None:
    _endpoint(client, shop, receiver.url)
    assert _publish(client, shop, {"endpoint": "crm", "body": {"n": 1}}).status_code == 201
    _anna_orders(client, shop)
    _delivered(receiver)
    [sent] = until(lambda: _webhook_messages(client, shop))
    assert sent["status"] == "sent" and sent["channel"] == "webhook"
    assert sent["recipient"] == "crm" and sent["flow"] == "sync_crm" and sent["node"] == "to_crm"
    assert sent["details"] == {"endpoint": "crm", "http_status": 200}
    assert sent["kind"] == "transactional" and sent["sent_at"] is not None

    gone = REGISTRY.get_sample_value("nerve_webhook_answers_total", {"outcome": "gone"}) or 0
    receiver.fail_with = 410
    response = client.post("/v1/track", auth=(shop.write_keys["web"], ""), json={
        "userId": "ben-7", "event": "Order Completed", "properties": ORDER})  # fmt: skip
    assert response.status_code == 200, response.text
    letters = until(lambda: client.get("/api/v1/dead-letters", headers=auth(shop)).json()["data"])
    assert "410 Gone" in letters[0]["error"]["message"]
    failed = until(lambda: [m for m in _webhook_messages(client, shop) if m["status"] == "failed"])
    assert failed[0]["details"] == {"endpoint": "crm", "http_status": 410}
    assert "410 Gone" in failed[0]["reason"] and "disabled" in failed[0]["reason"]
    assert REGISTRY.get_sample_value("nerve_webhook_answers_total", {"outcome": "gone"}) == gone + 1
    emails = client.get("/api/v1/messages", params={"channel": "email"}, headers=auth(shop))
    assert emails.json()["data"] == []


def test_a_url_webhook_is_logged_by_its_host_only(
    client: TestClient, shop: Shop, receiver: Receiver
) -> None:
    url = f"{receiver.url}/hook?token=s3cr3t"
    assert _publish(client, shop, {"url": url}).status_code == 201
    _anna_orders(client, shop)
    _delivered(receiver)
    [logged] = until(lambda: _webhook_messages(client, shop))
    assert logged["recipient"] == "127.0.0.1"
    assert logged["details"] == {"url_host": "127.0.0.1", "http_status": 200}
    assert "s3cr3t" not in json.dumps(logged)


def test_during_a_rotation_a_mapped_body_verifies_with_both_secrets_and_not_when_tampered(
    client: TestClient, shop: Shop, receiver: Receiver
) -> None:
    old = _endpoint(client, shop, receiver.url)
    rotated = client.post("/api/v1/webhook-endpoints/crm/rotate", headers=auth(shop))
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    with_ = {"endpoint": "crm", "envelope": False, "body": CRM_BODY}
    assert _publish(client, shop, with_).status_code == 201
    _anna_orders(client, shop)
    delivery = _delivered(receiver)
    for secret in (old, new):
        assert Webhook(secret).verify(delivery.raw, delivery.headers) == delivery.body
    tampered = delivery.raw.replace(b"GOLD", b"PLATINUM")
    assert tampered != delivery.raw
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(tampered, delivery.headers)


def test_a_retried_webhook_keeps_one_row_that_ends_sent(
    client: TestClient, shop: Shop, receiver: Receiver
) -> None:
    receiver.answers = [503]
    assert _publish(client, shop, {"url": receiver.url}, retries=2).status_code == 201
    _anna_orders(client, shop)
    _delivered(receiver)
    [logged] = until(lambda: [m for m in _webhook_messages(client, shop) if m["sent_at"]])
    assert logged["status"] == "sent" and logged["details"]["http_status"] == 200
    assert receiver.attempts == 2 and len(_webhook_messages(client, shop)) == 1
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
