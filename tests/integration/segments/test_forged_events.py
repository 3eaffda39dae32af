"""Only Nerve's own segment events start `segment` flows: a head can send an event named
"Segment Entered" with a segment's key, but it starts no run; the real entry does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from tests.factories import Shop, make_shop
from tests.integration.segments.conftest import apply, person_id, segments_of, send
from tests.receivers import Receiver
from tests.waiting import auth, until

ANNA = {"anonymousId": "anna-phone"}
VIP = {"key": "vip", "name": "VIP", "where": {"trait": "plan", "equals": "gold"}}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def _runs(client: TestClient, shop: Shop, flow_id: str) -> list[dict[str, Any]]:
    found = client.get(f"/api/v1/flows/{flow_id}/runs", headers=auth(shop))
    assert found.status_code == 200, found.text
    return list(found.json()["data"])


def test_a_forged_segment_entry_starts_no_run_and_the_real_one_does(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine)
    apply(client, shop, VIP)
    flow = {"name": "vip_welcome",
            "trigger": {"type": "segment", "event": "segment_entered", "segment": "vip"},
            "nodes": [{"id": "hook", "action": "webhook",
                       "with": {"url": f"{receiver.url}/entered", "body": {"hi": 1}}}]}  # fmt: skip
    published = client.post("/api/v1/flows", params={"environment": "production"}, json=flow,
                            headers=auth(shop))  # fmt: skip
    assert published.status_code == 201, published.text
    flow_id = published.json()["flow_id"]
    forged = {"segment": "vip", "segment_name": "VIP"}
    send(client, shop, "track", {**ANNA, "event": "Segment Entered", "properties": forged})
    # Attached and routed in one transaction: once she has a profile, the forgery was routed.
    until(lambda: person_id(client, shop, "anonymous_id:anna-phone"))
    assert _runs(client, shop, flow_id) == []
    assert segments_of(client, shop, "anonymous_id:anna-phone") == []
    send(client, shop, "identify", {**ANNA, "traits": {"plan": "gold"}})
    [delivery] = until(lambda: receiver.deliveries)
    assert delivery.body["trigger"]["properties"] == forged  # the same words, Nerve's own event
    assert segments_of(client, shop, "anonymous_id:anna-phone") == ["vip"]
    [run] = _runs(client, shop, flow_id)
    assert run["profile_id"] == person_id(client, shop, "anonymous_id:anna-phone")
    assert len(receiver.deliveries) == 1
