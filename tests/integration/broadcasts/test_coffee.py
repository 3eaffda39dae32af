"""The coffee push: a brand's price drop starts one push per person whose top brand interest
is that brand and who agreed to pushes — nobody else — through a segment built from tracked
events, a catalog change through the products API and a push to an FCM-shaped receiver."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from starlette.testclient import TestClient

from nerve.app import create_app
from nerve.channels.push import fcm
from nerve.db.engine import write_transaction
from nerve.secrets import service as secrets
from nerve.secrets.vault import Vault
from nerve.settings import Settings
from tests.factories import Shop
from tests.integration.broadcasts.steps import runs
from tests.integration.channels.conftest import VAULT_KEY
from tests.integration.channels.push_services import PushService
from tests.integration.channels.push_steps import CONSENT_TEXT, logged, subscribe, track
from tests.waiting import auth, until

TEMPLATE = {"name": "coffee_deal", "channel": "push",
            "title": "{{ event.properties.name | default: 'Coffee' }}: "
                     "{{ event.properties.discount_percent | default: 'a lot' }}% off",
            "body": "Your favourite coffee is cheaper now", "url": "https://shop.example/c"}  # fmt: skip
SEGMENT = {"key": "coffee_fans", "name": "Coffee fans",
           "where": {"event": "Product Viewed", "properties": {"category": "Coffee"}}}  # fmt: skip
FLOW = {
    "name": "coffee_deal",
    "trigger": {"type": "audience", "event": "price_changed", "segment": "coffee_fans",
                "where": "profile.computed.top_brand == trigger.properties.brand and "
                         "trigger.properties.discount_percent >= 20"},
    "nodes": [{"id": "push", "action": "send_push",
               "with": {"template": "coffee_deal", "topic": "offers"}}],
}  # fmt: skip


@pytest.fixture
def receiver() -> Iterator[PushService]:
    service = PushService()
    service.respond = lambda _: (200, b'{"name": "projects/shop-app/messages/0:1"}')
    yield service
    service.close()


@pytest.fixture
def client(settings: Settings, receiver: PushService) -> Iterator[TestClient]:
    pushing = settings.model_copy(update={"push_fcm_project": "shop-app",
                                          "push_fcm_url": receiver.url,
                                          "secret_key": SecretStr(VAULT_KEY)})  # fmt: skip
    with TestClient(create_app(pushing)) as client:
        yield client


def _person(client: TestClient, shop: Shop, user: str, brand: str, push: bool) -> None:
    """Someone who looked at coffee of `brand` (twice) and at another brand's once; with `push`,
    they agreed to offers as push on their phone."""
    if push:
        subscribe(client, shop, {"kind": "fcm", "token": f"fcm-token:{user}" + "x" * 140,
                                 "anonymousId": f"phone-{user}", "topics": ["offers"],
                                 "consent_text": CONSENT_TEXT})  # fmt: skip
    track(client, shop, "identify", {"userId": user, "anonymousId": f"phone-{user}"})
    for viewed in (brand, brand, "Other Roast"):
        track(client, shop, "track", {"userId": user, "event": "Product Viewed",
                                      "properties": {"brand": viewed, "category": "Coffee"}})  # fmt: skip


def _price(client: TestClient, shop: Shop, price: str) -> None:
    line = {"sku": "ACME-1", "name": "Acme Espresso", "brand": "Acme Coffee", "price": price,
            "currency": "EUR"}  # fmt: skip
    answer = client.put("/api/v1/products", content=orjson.dumps(line),
                        headers=auth(shop) | {"Content-Type": "application/x-ndjson"})  # fmt: skip
    assert answer.status_code == 200, answer.text


def _ready(client: TestClient, shop: Shop, engine: Engine) -> None:
    topic = client.put("/api/v1/consent/topics/push/offers", json={"title": "Offers"},
                       headers=auth(shop))  # fmt: skip
    assert topic.status_code in (200, 201), topic.text
    saved = client.post("/api/v1/templates", json=TEMPLATE, headers=auth(shop))
    assert saved.status_code == 201, saved.text
    with write_transaction(engine) as conn:
        secrets.put(conn, Vault(VAULT_KEY), shop.workspace_id, fcm.SECRET, "ya29.test-token",
                    actor="test")  # fmt: skip
    assert client.post("/api/v1/segments", json=SEGMENT, headers=auth(shop)).status_code == 201


def _members(client: TestClient, shop: Shop) -> list[str]:
    page = client.get("/api/v1/segments/coffee_fans/members", headers=auth(shop))
    return page.json()["members"] if page.status_code == 200 else []  # type: ignore[no-any-return]


def _finished(engine: Engine) -> list[Any]:
    return [m for m in logged(engine) if m.status not in ("queued", "deferred")]


def test_a_brand_discount_pushes_to_its_fans_who_agreed_and_nobody_else(
    client: TestClient, shop: Shop, engine: Engine, receiver: PushService
) -> None:
    _ready(client, shop, engine)
    _person(client, shop, "anna", "Acme Coffee", push=True)  # fan, agreed: the one push
    _person(client, shop, "bert", "Bean Co", push=True)  # agreed, another brand: nothing
    _person(client, shop, "cleo", "Acme Coffee", push=False)  # fan, never agreed: no push
    until(lambda: len(_members(client, shop)) == 3)
    published = client.post("/api/v1/flows?environment=production", json=FLOW, headers=auth(shop))
    assert published.status_code == 201, published.text
    _price(client, shop, "10.00")  # new product: no price change yet
    preview = client.post("/api/v1/flows/coffee_deal/broadcasts/preview", headers=auth(shop),
                          json={"properties": {"brand": "Acme Coffee", "discount_percent": 25}})  # fmt: skip
    assert (preview.json()["audience"], preview.json()["passing"]) == (3, 2)
    _price(client, shop, "7.50")  # 25 % off
    finished = until(lambda: len(_finished(engine)) == 2 and _finished(engine))
    by_status = sorted((m.status, m.reason) for m in finished)
    assert by_status == [("sent", None), ("skipped", "no push subscription")]
    [arrival] = receiver.arrivals
    message = orjson.loads(arrival.body)["message"]
    assert message["token"].startswith("fcm-token:anna")
    assert message["notification"]["title"] == "Acme Espresso: 25.0% off"
    [broadcast] = client.get("/api/v1/flows/coffee_deal/broadcasts",
                             headers=auth(shop)).json()["data"]  # fmt: skip
    assert broadcast["cause"].startswith("shop_event:") and broadcast["status"] == "done"
    assert (broadcast["audience"], broadcast["entered"], broadcast["skipped"]) == (3, 2, 1)
    _price(client, shop, "9.90")  # dearer again: a change, but no discount — nobody
    time.sleep(1.0)
    assert runs(engine) == (2, 2) and len(receiver.arrivals) == 1
