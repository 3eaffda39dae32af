"""Steps the push tests share: a shop ready for push (topic, template, VAPID key), a person made
through the tracking API, a browser subscribed through the write key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from nerve.channels.models import Message
from nerve.channels.push import vapid
from nerve.channels.push.models import PushSubscription
from nerve.db.engine import write_transaction
from nerve.secrets import service as secrets
from nerve.secrets.vault import Vault
from tests.factories import Shop
from tests.integration.channels.conftest import VAULT_KEY
from tests.waiting import auth, until

TEMPLATE = {
    "name": "cart_push",
    "channel": "push",
    "title": "{{ person.traits.first_name | default: 'Hi' }}, your cart",
    "body": "{{ event.properties.name | default: 'Your shoes' }} are waiting",
    "url": "https://shop.example/cart",
    "icon": "https://shop.example/icon.png",
}
CONSENT_TEXT = "Allow offers from Example Shop as notifications"


def ready(client: TestClient, shop: Shop, engine: Engine, *, key: bool = True) -> None:
    topic = client.put("/api/v1/consent/topics/push/offers", json={"title": "Offers"},
                       headers=auth(shop))  # fmt: skip
    assert topic.status_code in (200, 201), topic.text
    saved = client.post("/api/v1/templates", json=TEMPLATE, headers=auth(shop))
    assert saved.status_code == 201, saved.text
    if key:
        with write_transaction(engine) as conn:
            secrets.put(conn, Vault(VAULT_KEY), shop.workspace_id, vapid.SECRET,
                        vapid.generate(), actor="test")  # fmt: skip


def track(client: TestClient, shop: Shop, path: str, message: dict[str, Any]) -> None:
    response = client.post(f"/v1/{path}", json=message, auth=(shop.write_keys["web"], ""))
    assert response.status_code == 200, response.text


def person(client: TestClient, shop: Shop, identifier: str) -> dict[str, Any]:
    """The person once identity has resolved them."""

    def found() -> dict[str, Any] | None:
        response = client.get("/api/v1/profiles", params={"identifier": identifier},
                              headers=auth(shop))  # fmt: skip
        return response.json() if response.status_code == 200 else None  # type: ignore[no-any-return]

    return until(found)  # type: ignore[no-any-return]


def subscribe(
    client: TestClient, shop: Shop, body: dict[str, Any], status: int = 201,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    response = client.post("/v1/push/subscriptions", json=body, headers=headers,
                           auth=(shop.write_keys["web"], ""))  # fmt: skip
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


def subscriptions(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(select(PushSubscription).order_by(PushSubscription.created_at)).all()
        )


def logged(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(Message).where(Message.channel == "push").order_by(Message.created_at)
            ).all()
        )
