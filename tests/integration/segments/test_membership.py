"""Membership follows the events: entries and exits within the pipeline pass, only affected
segments re-evaluated, a flow started by an entry, an exit when the window expires (by its
timer), merges and erasure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, update
from starlette.testclient import TestClient

from nerve.db.base import utcnow
from nerve.db.engine import write_transaction
from nerve.segments.models import SegmentChange, SegmentTimer
from tests.factories import make_shop
from tests.integration.segments.conftest import (
    RUNNING_FANS,
    apply,
    evaluations,
    person_id,
    ready,
    segments_of,
    send,
    view,
)
from tests.receivers import Receiver
from tests.waiting import auth, until

ANNA = {"anonymousId": "anna-phone"}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def test_three_running_views_enter_and_an_order_exits(client: TestClient, engine: Engine) -> None:
    shop = make_shop(engine)
    apply(client, shop, RUNNING_FANS)
    apply(client, shop, {"key": "gold", "name": "Gold", "where": {"trait": "plan",
                                                                  "equals": "gold"}})  # fmt: skip
    ready(client, shop, "gold")
    view(client, shop, ANNA, "Running")
    view(client, shop, ANNA, "Hiking")
    view(client, shop, ANNA, "Running")
    until(lambda: person_id(client, shop, "anonymous_id:anna-phone"))
    assert segments_of(client, shop, "anonymous_id:anna-phone") == []
    gold_before = evaluations("gold")
    view(client, shop, ANNA, "Running")
    until(lambda: segments_of(client, shop, "anonymous_id:anna-phone") == ["running_fans"])
    assert evaluations("gold") == gold_before  # it reads no Product Viewed event
    send(client, shop, "track", {**ANNA, "event": "Order Completed",
                                 "properties": {"order_id": "o-1", "total": 50}})  # fmt: skip
    until(lambda: segments_of(client, shop, "anonymous_id:anna-phone") == [])
    send(client, shop, "identify", {**ANNA, "traits": {"plan": "gold"}})
    until(lambda: segments_of(client, shop, "anonymous_id:anna-phone") == ["gold"])
    with engine.connect() as conn:
        log = conn.execute(select(SegmentChange.change).order_by(SegmentChange.id)).scalars()
        assert list(log) == ["entered", "exited", "entered"]


def test_an_entry_starts_a_flow_and_the_window_exits_by_its_timer(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine)
    apply(client, shop, RUNNING_FANS)
    flow = {"name": "runners_welcome",
            "trigger": {"type": "segment", "event": "segment_entered", "segment": "running_fans"},
            "nodes": [{"id": "hook", "action": "webhook",
                       "with": {"url": f"{receiver.url}/entered", "body": {"hi": 1}}}]}  # fmt: skip
    published = client.post("/api/v1/flows", params={"environment": "production"}, json=flow,
                            headers=auth(shop))  # fmt: skip
    assert published.status_code == 201, published.text
    unknown = flow | {"name": "nope", "trigger": flow["trigger"] | {"segment": "nowhere"}}
    refused = client.post("/api/v1/flows", json=unknown, headers=auth(shop))
    assert refused.status_code == 400
    assert refused.json()["error"]["details"][0]["path"] == "trigger.segment"
    # Viewed just inside the window: the oldest view leaves it in a few seconds.
    almost = utcnow() - timedelta(days=7) + timedelta(seconds=5)
    for _ in range(3):
        view(client, shop, ANNA, "Running", at=almost)
    until(lambda: segments_of(client, shop, "anonymous_id:anna-phone") == ["running_fans"])
    [delivery] = until(lambda: receiver.deliveries)
    assert delivery.body["trigger"]["properties"]["segment"] == "running_fans"
    with engine.connect() as conn:
        [timer] = conn.execute(select(SegmentTimer)).all()
    assert abs((timer.due_at - (almost + timedelta(days=7))).total_seconds()) < 1
    until(lambda: segments_of(client, shop, "anonymous_id:anna-phone") == [], seconds=30)
    with engine.connect() as conn:
        assert list(conn.execute(select(SegmentChange.change)).scalars()) == ["entered", "exited"]
        assert conn.execute(select(SegmentTimer)).all() == []
    assert len(receiver.deliveries) == 1


def test_a_moved_timer_fires_at_once(client: TestClient, engine: Engine) -> None:
    """The exit comes from the timer: moved to now, it fires; nothing else would have."""
    shop = make_shop(engine)
    apply(client, shop, RUNNING_FANS)
    for _ in range(3):
        view(client, shop, ANNA, "Running", at=utcnow() - timedelta(days=6))
    until(lambda: segments_of(client, shop, "anonymous_id:anna-phone") == ["running_fans"])
    with write_transaction(engine) as conn:
        conn.execute(update(SegmentTimer).values(due_at=utcnow() - timedelta(days=2)))
    # Evaluated at the database's clock, the views are still inside the window: still in.
    until(lambda: _no_timer_due(engine))
    assert segments_of(client, shop, "anonymous_id:anna-phone") == ["running_fans"]


def _no_timer_due(engine: Engine) -> bool:
    with engine.connect() as conn:
        due = conn.execute(select(SegmentTimer.due_at)).scalars().all()
    return len(due) == 1 and due[0] > utcnow() + timedelta(hours=23)


def test_memberships_follow_the_survivor_of_a_merge_and_erasure_removes_them(
    client: TestClient, engine: Engine
) -> None:
    shop = make_shop(engine)
    apply(client, shop, RUNNING_FANS)
    for _ in range(3):
        view(client, shop, ANNA, "Running")
    send(client, shop, "identify", {"userId": "anna-42", "traits": {"plan": "gold"}})
    until(lambda: segments_of(client, shop, "anonymous_id:anna-phone") == ["running_fans"])
    until(lambda: person_id(client, shop, "user_id:anna-42"))
    send(client, shop, "identify", {**ANNA, "userId": "anna-42"})  # she signs in on the phone
    until(lambda: person_id(client, shop, "user_id:anna-42")
          == person_id(client, shop, "anonymous_id:anna-phone"))  # fmt: skip
    until(lambda: segments_of(client, shop, "user_id:anna-42") == ["running_fans"])
    survivor = person_id(client, shop, "user_id:anna-42")
    members = client.get("/api/v1/segments/running_fans/members", headers=auth(shop)).json()
    assert members["members"] == [survivor]
    export = client.get(f"/api/v1/profiles/{survivor}/export", headers=auth(shop)).json()
    assert [s["key"] for s in export["segments"]["segments"]] == ["running_fans"]
    erased = client.delete(f"/api/v1/profiles/{survivor}", headers=auth(shop))
    assert erased.status_code == 204, erased.text
    with engine.connect() as conn:
        assert conn.execute(select(SegmentChange)).all() == []
    detail = client.get("/api/v1/segments/running_fans", headers=auth(shop)).json()
    assert detail["members"] == 0
