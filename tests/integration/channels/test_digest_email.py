"""A back-in-stock digest end to end: ten events — one sent twice, skus repeated, one late —
reach a real SMTP server as one mail listing each product once for the window, and a second
mail for the late one; erasing the person removes their digests."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine, func, select, update
from starlette.testclient import TestClient

from nerve.db.dialect import dialect_of
from nerve.db.engine import write_transaction
from nerve.flows.digest_models import Digest, DigestItem
from nerve.flows.models import FlowRun, Task
from tests.factories import Shop
from tests.smtp import SmtpSink
from tests.waiting import auth, until

TEMPLATE = {
    "name": "back_in_stock_digest",
    "subject": "{{ digest.count }} of your products are back",
    "html": "<p>Back in stock:</p><ul>{% for item in digest.items %}<li>"
    "<a href='{{ item.url }}'>{{ item.name }}</a></li>{% endfor %}</ul>",
}
FLOW = {
    "name": "back_in_stock",
    "trigger": {"event": "Back In Stock", "reentry": "always"},
    "nodes": [
        {"id": "collect", "digest": {"window": "1h", "key": "properties.sku"}},
        {"id": "mail", "action": "send_email",
         "with": {"template": "back_in_stock_digest", "topic": "back-in-stock"}},
    ],
}  # fmt: skip
# (messageId, sku): m2 and m5 are sent twice (a retrying shop), A and B come back twice.
WINDOW = [("m1", "A"), ("m2", "B"), ("m3", "C"), ("m2", "B"), ("m4", "A"), ("m5", "D"),
          ("m6", "B"), ("m5", "D"), ("m7", "E")]  # fmt: skip
LATE = ("m8", "C")  # after the first window closed


def _post(client: TestClient, shop: Shop, path: str, body: dict[str, Any]) -> None:
    response = client.post(path, json=body, auth=(shop.write_keys["web"], ""))
    assert response.status_code == 200, response.text


def _back_in_stock(client: TestClient, shop: Shop, message_id: str, sku: str) -> None:
    _post(client, shop, "/v1/track", {
        "userId": "anna", "event": "Back In Stock", "messageId": message_id,
        "properties": {"sku": sku, "name": f"Trail Runner {sku}",
                       "url": f"https://shop.example/p/{sku}"},
    })  # fmt: skip


def _ready(client: TestClient, shop: Shop) -> None:
    topic = {"title": "Back in stock", "description": "When a product you wanted is back"}
    answer = client.put("/api/v1/consent/topics/email/back-in-stock", json=topic,
                        headers=auth(shop))  # fmt: skip
    assert answer.status_code == 201, answer.text
    consent = {"email": "anna@example.com", "topic": "back-in-stock", "double_opt_in": False,
               "consent_text": "Tell me when it is back"}  # fmt: skip
    assert client.post("/api/v1/consent", json=consent, headers=auth(shop)).status_code == 201
    assert client.post("/api/v1/templates", json=TEMPLATE, headers=auth(shop)).status_code == 201
    published = client.post("/api/v1/flows?environment=production", json=FLOW, headers=auth(shop))
    assert published.status_code == 201, published.text
    _post(client, shop, "/v1/identify", {"userId": "anna", "traits": {"email": "anna@example.com"}})


def _collected(engine: Engine, runs: int, items: int) -> bool:
    """`runs` runs have reached the digest, and the open one holds `items` items."""
    with engine.connect() as conn:
        statuses = list(conn.scalars(select(FlowRun.status)))
        held = conn.scalar(
            select(func.count()).select_from(DigestItem)
            .join(Digest, Digest.id == DigestItem.digest_id).where(Digest.status == "open")
        )  # fmt: skip
    return len(statuses) == runs and "active" in statuses and held == items


def _close_the_window(engine: Engine) -> None:
    """The clock reaches the window's end: the owner's timer is due now."""
    with write_transaction(engine) as conn:
        due = conn.execute(
            update(Task)
            .where(Task.kind == "digest", Task.status == "pending")
            .values(due_at=dialect_of(conn).now(conn))
        )
        assert due.rowcount == 1


def _listed(mail: Any) -> list[str]:
    """The products the mail names, in order, as often as it names them."""
    return re.findall(r"Trail Runner [A-Z]", mail.get_body(("plain",)).get_content())


def test_a_digest_sends_each_item_once_per_window(
    client: TestClient, shop: Shop, sink: SmtpSink, engine: Engine
) -> None:
    _ready(client, shop)
    for message_id, sku in WINDOW:
        _back_in_stock(client, shop, message_id, sku)
    until(lambda: _collected(engine, runs=7, items=5))  # one run per messageId, one item per sku
    assert sink.received == []  # the window is still open
    _close_the_window(engine)
    [mail] = until(lambda: sink.received)
    assert mail["Subject"] == "5 of your products are back"
    assert _listed(mail) == [f"Trail Runner {sku}" for sku in "ABCDE"]

    _back_in_stock(client, shop, *LATE)
    until(lambda: _collected(engine, runs=8, items=1))
    _close_the_window(engine)
    first, second = until(lambda: sink.received[1:] and sink.received)
    assert first is mail and second["Subject"] == "1 of your products are back"
    assert _listed(second) == ["Trail Runner C"]
    with engine.connect() as conn:
        assert list(conn.scalars(select(Digest.status).order_by(Digest.opened_at))) == [
            "closed",
            "closed",
        ]

    person = client.get("/api/v1/profiles", params={"identifier": "user_id:anna"},
                        headers=auth(shop)).json()  # fmt: skip
    exported = client.get(f"/api/v1/profiles/{person['id']}/export", headers=auth(shop)).json()
    exported = exported["digests"]
    assert [[item["sku"] for item in d["items"]] for d in exported] == [list("ABCDE"), ["C"]]
    erased = client.delete(f"/api/v1/profiles/{person['id']}", headers=auth(shop))
    assert erased.status_code == 204, erased.text
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Digest)) == 0
        assert conn.scalar(select(func.count()).select_from(DigestItem)) == 0
