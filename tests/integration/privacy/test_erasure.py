"""Erasure reaches every table that holds the person — flows included — and stops their runs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from nerve.db.models import metadata
from nerve.privacy.registry import NOT_PERSONAL, REGISTRY
from nerve.privacy.schemas import ProfileExport
from tests.factories import Shop, make_shop
from tests.integration.profiles.test_identity import settle
from tests.receivers import Receiver
from tests.waiting import auth, until

EMAIL, USER, DEVICE, CART = "erin.erase@example.com", "erin-77", "erin-phone-1", "cart-erin-9"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    # A service that refuses and says what it refused: its answer lands in the dead letter.
    receiver = Receiver(fail_with=400, refusal=f"unknown customer {EMAIL}".encode())
    yield receiver
    receiver.close()


def _flows(url: str) -> list[dict[str, Any]]:
    trigger = {"event": "Checkout Started", "key": "properties.cart_id"}
    return [
        {"name": "remind_later", "trigger": trigger,
         "nodes": [{"id": "pause", "wait": "2s"},
                   {"id": "remind", "action": "webhook", "with": {"url": f"{url}/later"}}]},
        {"name": "tell_crm_now", "trigger": trigger,
         "nodes": [{"id": "tell", "action": "webhook", "retries": 0,
                    "with": {"url": f"{url}/now"}}]},
    ]  # fmt: skip


def _scan(engine: Engine) -> list[str]:
    """Every table, every row, as text: where does any of the person's identifiers remain?"""
    hits = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                flat = " ".join(str(value) for value in row).lower()
                hits += [f"{table.name}: {n}" for n in (EMAIL, USER, DEVICE, CART) if n in flat]
    return sorted(set(hits))


def _track(client: TestClient, shop: Shop, path: str, message: dict[str, Any]) -> None:
    response = client.post(f"/v1/{path}", json=message, auth=(shop.write_keys["web"], ""))
    assert response.status_code == 200, response.text


def test_erasure_with_flows_leaves_nothing_and_nothing_fires(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine, kinds=("web",))
    for flow in _flows(receiver.url):
        published = client.post(
            "/api/v1/flows", params={"environment": "production"}, json=flow, headers=auth(shop)
        )
        assert published.status_code == 201, published.text
    traits = {"email": EMAIL, "first_name": "Erin"}
    _track(client, shop, "identify", {"userId": USER, "anonymousId": DEVICE, "traits": traits})
    _track(client, shop, "track", {
        "userId": USER, "event": "Checkout Started", "context": {"traits": traits},
        "properties": {"cart_id": CART, "email": EMAIL},
    })  # fmt: skip
    settle(engine)
    letters = until(lambda: _get(client, shop, "/api/v1/dead-letters")["data"])
    assert EMAIL in str(letters), "the refusal names the person"
    person = _get(client, shop, "/api/v1/profiles", identifier=f"email:{EMAIL}")
    exported = _get(client, shop, f"/api/v1/profiles/{person['id']}/export")
    assert {run["flow"] for run in exported["flow_runs"]} == {"remind_later", "tell_crm_now"}
    before = _scan(engine)
    for table in ("flow_runs", "flow_steps", "flow_entries", "dead_letters", "events"):
        assert any(hit.startswith(f"{table}:") for hit in before), (table, before)

    erased = client.delete(f"/api/v1/profiles/{person['id']}", headers=auth(shop))
    assert erased.status_code == 204, erased.text
    assert _scan(engine) == []
    time.sleep(3)  # the waiting run's 2 s timer would have fired by now
    assert [d.path for d in receiver.deliveries] == []
    assert receiver.attempts == 1, "only the refused call before the erasure"
    assert _get(client, shop, "/api/v1/dead-letters")["data"] == []


def _get(client: TestClient, shop: Shop, path: str, **params: Any) -> Any:
    response = client.get(path, params=params, headers=auth(shop))
    assert response.status_code == 200, response.text
    return response.json()


def test_every_table_is_registered_as_personal_data_or_declared_free_of_it() -> None:
    registered = {table for data in REGISTRY for table in data.tables}
    tables = {table.name for table in metadata.sorted_tables}
    assert not registered & set(NOT_PERSONAL)
    missing = tables - registered - set(NOT_PERSONAL)
    assert not missing, f"register what these tables hold about a person: {sorted(missing)}"
    assert not (registered | set(NOT_PERSONAL)) - tables, "a registration names a lost table"


def test_the_export_document_has_a_section_for_every_registered_kind() -> None:
    """The export API answers through its typed schema: a registered kind of personal data that
    the schema lacks would be dropped from every person's export without a word."""
    exported = {data.name for data in REGISTRY if data.export is not None}
    missing = exported - set(ProfileExport.model_fields)
    assert not missing, f"add these sections to ProfileExport: {sorted(missing)}"
