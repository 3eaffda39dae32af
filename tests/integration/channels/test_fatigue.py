"""The fatigue cap on both databases: at most N marketing messages per person per rolling
window, counted in the message log across flows, channels and merged profiles, decided at a
fixed moment; and exact with two workers sending to one person at once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select
from starlette.testclient import TestClient

from nerve.channels import timing
from nerve.channels.delivery import ChannelRequest, Delivery, Drafted, Outgoing
from nerve.channels.models import Message
from nerve.db.engine import make_engine
from nerve.profiles.schemas import Person
from nerve.settings import Settings
from tests.factories import Shop, make_shop
from tests.integration.channels.timing_log import decide, logged, person, set_policy
from tests.waiting import auth, until

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
CAP = {"fatigue": {"limit": 3, "window": "7d"}}


def test_the_fourth_message_in_a_week_waits_until_the_oldest_leaves_the_window(
    engine: Engine,
) -> None:
    shop = make_shop(engine)
    anna = person(engine, shop.workspace_id, "prf_anna_phone")
    set_policy(engine, shop.workspace_id, CAP)
    # Three flows, two channels, two of her profiles; one message from before the window.
    logged(engine, shop.workspace_id, anna, NOW - 8 * DAY)
    logged(engine, shop.workspace_id, anna, NOW - 6 * DAY, flow="welcome")
    logged(engine, shop.workspace_id, "prf_anna_phone", NOW - 2 * DAY, channel="sms",
           flow="cart", status="clicked")  # fmt: skip
    assert decide(engine, shop.workspace_id, anna, NOW).goes
    logged(engine, shop.workspace_id, anna, NOW - DAY, flow="back_in_stock", status="bounced")
    decision = decide(engine, shop.workspace_id, anna, NOW)
    assert decision.until == NOW - 6 * DAY + 7 * DAY
    assert decision.details["counted"] == 3 and decision.details["limit"] == 3
    assert decision.details["window"] == "7d" and "over the fatigue cap" in decision.details["why"]
    # From her other profile it is the same person, the same count.
    assert decide(engine, shop.workspace_id, "prf_anna_phone", NOW).until == NOW + DAY
    # The moment the oldest leaves, a slot is free.
    assert decide(engine, shop.workspace_id, anna, NOW + DAY).goes
    # Someone else is not held by Anna's messages.
    assert decide(engine, shop.workspace_id, person(engine, shop.workspace_id), NOW).goes


def test_what_did_not_reach_the_person_does_not_count(engine: Engine) -> None:
    shop = make_shop(engine)
    ben = person(engine, shop.workspace_id)
    set_policy(engine, shop.workspace_id, CAP)
    for status in ("skipped", "deferred", "failed"):
        logged(engine, shop.workspace_id, ben, NOW - DAY, status=status)
    for _ in range(3):
        logged(engine, shop.workspace_id, ben, NOW - DAY, kind="transactional")
    logged(engine, shop.workspace_id, ben, NOW - DAY)
    logged(engine, shop.workspace_id, ben, NOW - DAY, status="queued")  # on its way: counts
    own = logged(engine, shop.workspace_id, ben, NOW, status="queued")  # the send decided
    assert decide(engine, shop.workspace_id, ben, NOW, logged_id=own).goes
    assert decide(engine, shop.workspace_id, ben, NOW).until is not None  # counting itself
    # Transactional sends are exempt, however many went.
    assert decide(engine, shop.workspace_id, ben, NOW, kind="transactional") == timing.GO


def test_a_message_counts_from_when_it_went_not_when_it_was_first_logged(engine: Engine) -> None:
    shop = make_shop(engine)
    cleo = person(engine, shop.workspace_id)
    set_policy(engine, shop.workspace_id, CAP)
    # Logged ten days ago, held back by the cap, sent two days ago: still in the window.
    logged(engine, shop.workspace_id, cleo, NOW - 10 * DAY, sent_at=NOW - 2 * DAY)
    logged(engine, shop.workspace_id, cleo, NOW - DAY)
    logged(engine, shop.workspace_id, cleo, NOW - DAY)
    assert decide(engine, shop.workspace_id, cleo, NOW).until == NOW + 5 * DAY


def test_a_node_overrides_the_cap_and_what_happens_over_it(engine: Engine) -> None:
    shop = make_shop(engine)
    dan = person(engine, shop.workspace_id)
    set_policy(engine, shop.workspace_id, CAP)
    for _ in range(3):
        logged(engine, shop.workspace_id, dan, NOW - DAY)
    skip = decide(engine, shop.workspace_id, dan, NOW, options={"over_cap": "skip"})
    assert skip.skip is not None and "3 marketing messages in 7d (limit 3)" in skip.skip
    assert skip.details["counted"] == 3
    own = {"frequency_cap": {"limit": 5, "window": "7d"}}
    assert decide(engine, shop.workspace_id, dan, NOW, options=own).goes
    assert decide(engine, shop.workspace_id, dan, NOW, options={"frequency_cap": False}).goes
    tight = {"frequency_cap": {"limit": 1, "window": "12h"}}
    assert decide(engine, shop.workspace_id, dan, NOW, options=tight).goes  # a day ago: out
    set_policy(engine, shop.workspace_id, {"fatigue": {**CAP["fatigue"], "on_cap": "skip"}})
    assert decide(engine, shop.workspace_id, dan, NOW).skip is not None
    assert decide(engine, shop.workspace_id, dan, NOW, options={"over_cap": "defer"}).until


def test_people_who_never_open_get_fewer(engine: Engine) -> None:
    shop = make_shop(engine)
    tiers = {"fatigue": {"limit": 3, "window": "7d",
                         "tiers": [{"unengaged_for": "30d", "limit": 1}]}}  # fmt: skip
    set_policy(engine, shop.workspace_id, tiers)
    reader, ignorer, newcomer = (person(engine, shop.workspace_id) for _ in range(3))
    logged(engine, shop.workspace_id, reader, NOW - 40 * DAY, opened_at=NOW - 5 * DAY)
    logged(engine, shop.workspace_id, ignorer, NOW - 40 * DAY)
    logged(engine, shop.workspace_id, newcomer, NOW - 10 * DAY)
    for someone in (reader, ignorer, newcomer):
        logged(engine, shop.workspace_id, someone, NOW - DAY)
    assert decide(engine, shop.workspace_id, reader, NOW).goes
    assert decide(engine, shop.workspace_id, newcomer, NOW).goes  # not messaged long enough
    held = decide(engine, shop.workspace_id, ignorer, NOW)
    assert held.until == NOW + 6 * DAY and held.details["limit"] == 1
    assert held.details["tier"] == "no opens or clicks for 30d"


def test_no_policy_no_cap_and_a_send_held_thirty_days_is_skipped(engine: Engine) -> None:
    shop = make_shop(engine)
    eve = person(engine, shop.workspace_id)
    for _ in range(5):
        logged(engine, shop.workspace_id, eve, NOW - DAY)
    assert decide(engine, shop.workspace_id, eve, NOW).goes  # no policy saved
    set_policy(engine, shop.workspace_id, CAP)
    old = logged(engine, shop.workspace_id, eve, NOW - 31 * DAY, status="deferred")
    stale = decide(engine, shop.workspace_id, eve, NOW, logged_id=old)
    assert stale.skip is not None and "30 days" in stale.skip


# --- two workers, one person --------------------------------------------------------------------


class _Phone:
    """A channel that records what it was handed (an SMS provider on the other end)."""

    name, address_type, needs_consent = "test", "phone", False

    def __init__(self) -> None:
        self.delivered: list[str] = []
        self._lock = threading.Lock()

    def draft(self, conn: Connection, request: ChannelRequest, person: Person | None) -> Drafted:
        return Drafted(recipient="+4915100000000", summary="Your cart misses you")

    def deliver(self, message: Outgoing) -> dict[str, Any]:
        time.sleep(0.005)  # the provider's round trip, outside the transaction
        with self._lock:
            self.delivered.append(message.idempotency_key)
        return {}

    def close(self) -> None:
        pass


def _someone(client: TestClient, shop: Shop, user: str) -> str:
    identify = {"userId": user, "traits": {"first_name": "Fay"}}
    sent = client.post("/v1/identify", json=identify, auth=(shop.write_keys["web"], ""))
    assert sent.status_code == 200, sent.text

    def profile() -> str | None:
        found = client.get("/api/v1/profiles", params={"identifier": f"user_id:{user}"},
                           headers=auth(shop))  # fmt: skip
        return str(found.json()["id"]) if found.status_code == 200 else None

    return str(until(profile))


def test_two_workers_racing_for_one_person_never_send_more_than_the_cap(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    shop = make_shop(engine, workspace="racing")
    fay = _someone(client, shop, "fay")
    set_policy(engine, shop.workspace_id, CAP)
    phone = _Phone()
    workers = [make_engine(settings) for _ in range(2)]  # two pools, as two processes have
    deliveries = [Delivery(worker, phone) for worker in workers]
    for n, delivery in enumerate(deliveries):  # each worker has sent before (order news)
        news = ChannelRequest(workspace_id=shop.workspace_id, channel="test", profile_id=fay,
                              idempotency_key=f"order-{n}", kind="transactional")  # fmt: skip
        assert delivery.send(news).status == "sent"
    start, outcomes = threading.Barrier(8), Counter[str]()

    def sender(thread: int) -> None:
        start.wait()
        for n in range(5):
            request = ChannelRequest(workspace_id=shop.workspace_id, channel="test",
                                     profile_id=fay, idempotency_key=f"race-{thread}-{n}",
                                     flow=f"flow_{n}")  # fmt: skip
            try:
                outcomes[deliveries[thread % 2].send(request).status] += 1
            except timing.Deferred:
                outcomes["deferred"] += 1

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker in workers:
        worker.dispose()
    assert outcomes == {"sent": 3, "deferred": 37}
    assert len(phone.delivered) == 3 + 2
    with engine.connect() as conn:
        statuses = Counter(conn.scalars(select(Message.status).where(
            Message.workspace_id == shop.workspace_id, Message.kind == "marketing")))  # fmt: skip
        [details] = set(map(str, conn.scalars(select(Message.details).where(
            Message.status == "deferred", Message.workspace_id == shop.workspace_id)).all()[:1]))  # fmt: skip
    assert statuses == {"sent": 3, "deferred": 37}
    assert "'counted': 3" in details and "'limit': 3" in details
