"""Quiet hours and the best send time on both databases: decided at fixed moments in the
person's zone, and end to end — a flow's mail in the person's quiet hours is deferred, then
delivered through SMTP when they end on the person's clock, while someone in another zone gets
theirs at once."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from nerve.channels.models import Message
from tests.factories import Shop, make_shop
from tests.integration.channels.timing_log import decide, logged, person, set_policy
from tests.smtp import SmtpSink
from tests.waiting import auth, until

# 23:30 in Berlin (CET) on 14 January; 17:30 in New York.
LATE = datetime(2026, 1, 14, 22, 30, tzinfo=UTC)
MORNING = datetime(2026, 1, 15, 7, 0, tzinfo=UTC)  # 08:00 in Berlin
NIGHT = {"quiet_hours": {"start": "21:00", "end": "08:00", "default_timezone": "Europe/Berlin"}}


def test_a_marketing_send_at_night_is_deferred_to_the_persons_morning(engine: Engine) -> None:
    shop = make_shop(engine)
    set_policy(engine, shop.workspace_id, NIGHT)
    anna = person(engine, shop.workspace_id)
    night = decide(engine, shop.workspace_id, anna, LATE, zone="Europe/Berlin")
    assert night.until == MORNING
    assert (
        night.details["zone"] == "Europe/Berlin" and night.details["quiet_hours"] == "21:00-08:00"
    )
    assert "quiet hours 21:00-08:00 Europe/Berlin" in night.details["why"]
    assert decide(engine, shop.workspace_id, anna, MORNING, zone="Europe/Berlin").goes
    # The same moment is the afternoon in New York.
    assert decide(engine, shop.workspace_id, anna, LATE, zone="America/New_York").goes
    # Not known, or not a zone: the policy's default, and the log says so.
    unknown = decide(engine, shop.workspace_id, anna, LATE, zone="Atlantis/Capital")
    assert unknown.until == MORNING and "Atlantis/Capital" in unknown.details["zone_note"]
    assert decide(engine, shop.workspace_id, None, LATE).until == MORNING  # an address only
    # A node that may send at night, and order news, go at once.
    awake = decide(engine, shop.workspace_id, anna, LATE, zone="Europe/Berlin",
                   options={"quiet_hours": False})  # fmt: skip
    assert awake.goes
    assert decide(engine, shop.workspace_id, anna, LATE, zone="Europe/Berlin",
                  kind="transactional").goes  # fmt: skip


def test_a_send_the_cap_defers_into_the_night_waits_for_the_morning(engine: Engine) -> None:
    shop = make_shop(engine)
    set_policy(engine, shop.workspace_id, {**NIGHT, "fatigue": {"limit": 1, "window": "1d"}})
    ben = person(engine, shop.workspace_id)
    logged(engine, shop.workspace_id, ben, LATE - timedelta(hours=20))  # 03:30 Berlin
    at_noon = LATE - timedelta(hours=11)  # 12:30 Berlin: the slot frees at 03:30 tomorrow
    decision = decide(engine, shop.workspace_id, ben, at_noon, zone="Europe/Berlin")
    assert decision.until == MORNING
    assert decision.details["counted"] == 1 and "quiet hours" in decision.details["why"]
    assert "over the fatigue cap" in decision.details["why"]


def test_the_best_send_time_is_learned_from_the_persons_opens(engine: Engine) -> None:
    shop = make_shop(engine)
    set_policy(engine, shop.workspace_id, {"send_time": {"fallback_hour": 10,
                                                         "min_observations": 3}})  # fmt: skip
    reader, stranger = person(engine, shop.workspace_id), person(engine, shop.workspace_id)
    noon = datetime(2026, 1, 15, 11, 0, tzinfo=UTC)  # 12:00 in Berlin
    for days, hour in ((1, 18), (2, 18), (3, 18), (4, 7)):  # 19:xx Berlin three times
        sent = noon - timedelta(days=days)
        opened = sent.replace(hour=hour, minute=12)
        logged(engine, shop.workspace_id, reader, sent, opened_at=opened)
    best = {"send_at": "best_time"}
    decision = decide(engine, shop.workspace_id, reader, noon, zone="Europe/Berlin", options=best)
    assert decision.until == datetime(2026, 1, 15, 18, 0, tzinfo=UTC)
    assert decision.details["best_hour"] == 19 and "4 reads" in decision.details["best_hour_from"]
    # In that hour it goes; someone with too few reads gets the fallback hour, 10:00 Berlin.
    evening = datetime(2026, 1, 15, 18, 30, tzinfo=UTC)
    assert decide(engine, shop.workspace_id, reader, evening, zone="Europe/Berlin",
                  options=best).goes  # fmt: skip
    fallback = decide(engine, shop.workspace_id, stranger, noon, zone="Europe/Berlin",
                      options=best)  # fmt: skip
    assert fallback.until == datetime(2026, 1, 16, 9, 0, tzinfo=UTC)
    assert fallback.details["best_hour_from"] == "fallback (0 reads)"
    # Once deferred to its hour, a send is not deferred for it again (a worker came late).
    waited = logged(engine, shop.workspace_id, stranger, noon, status="deferred")
    with engine.begin() as conn:
        conn.execute(Message.__table__.update().where(Message.id == waited).values(
            details=fallback.details))  # fmt: skip
    late = datetime(2026, 1, 16, 10, 30, tzinfo=UTC)
    assert decide(engine, shop.workspace_id, stranger, late, zone="Europe/Berlin", options=best,
                  logged_id=waited).goes  # fmt: skip


# --- end to end: a flow, the worker, SMTP ---------------------------------------------------------

TEMPLATE = {"name": "evening_offer", "subject": "Something for you",
            "html": "<p>Hello {{ person.traits.first_name }}</p>"}  # fmt: skip
FLOW = {
    "name": "offer",
    "trigger": {"event": "Product Added", "key": "properties.cart_id"},
    "nodes": [{"id": "offer", "action": "send_email",
               "with": {"template": "evening_offer", "topic": "newsletter"}}],
}  # fmt: skip


def _shopper(client: TestClient, shop: Shop, user: str, zone: str) -> None:
    email = f"{user}@example.com"
    given = {"email": email, "topic": "newsletter", "double_opt_in": False,
             "consent_text": "Yes, send me offers", "source_url": "https://shop.example/"}  # fmt: skip
    assert client.post("/api/v1/consent", json=given, headers=auth(shop)).status_code == 201
    for path, message in (
        ("identify", {"userId": user, "traits": {"email": email, "first_name": user.title(),
                                                 "timezone": zone}}),
        ("track", {"userId": user, "event": "Product Added", "properties": {"cart_id": user}}),
    ):  # fmt: skip
        sent = client.post(f"/v1/{path}", json=message, auth=(shop.write_keys["web"], ""))
        assert sent.status_code == 200, sent.text


def _row(engine: Engine, recipient: str, status: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            select(Message).where(Message.recipient == recipient, Message.status == status)
        ).first()


def test_a_flow_mail_in_quiet_hours_is_delivered_when_they_end_in_the_persons_zone(
    client: TestClient, shop: Shop, sink: SmtpSink, engine: Engine
) -> None:
    # Quiet hours that began an hour ago in Tokyo and end in a few seconds (on a Tokyo
    # clock), so the test need not wait for a real morning.
    tokyo = datetime.now(ZoneInfo("Asia/Tokyo"))
    end = tokyo + timedelta(seconds=6)
    policy = {"quiet_hours": {"start": (tokyo - timedelta(hours=1)).strftime("%H:%M:%S"),
                              "end": end.strftime("%H:%M:%S"), "default_timezone": "UTC"}}  # fmt: skip
    assert client.put("/api/v1/delivery-policy", json=policy, headers=auth(shop)).status_code == 200
    assert client.post("/api/v1/templates", json=TEMPLATE, headers=auth(shop)).status_code == 201
    published = client.post("/api/v1/flows?environment=production", json=FLOW, headers=auth(shop))
    assert published.status_code == 201, published.text
    _shopper(client, shop, "kei", "Asia/Tokyo")
    _shopper(client, shop, "nora", "America/New_York")  # 13 or 14 hours behind: not quiet
    [first] = until(lambda: sink.received)
    assert first["To"] == "nora@example.com"
    deferred = until(lambda: _row(engine, "kei@example.com", "deferred"))
    assert deferred.details["zone"] == "Asia/Tokyo" and "quiet hours" in deferred.reason
    until(lambda: len(sink.received) == 2, seconds=30)
    assert sink.received[1]["To"] == "kei@example.com"
    sent = until(lambda: _row(engine, "kei@example.com", "sent"))  # marked after SMTP took it
    assert end.replace(microsecond=0) <= sent.sent_at <= datetime.now(UTC)
    runs = client.get("/api/v1/flows/offer/runs", headers=auth(shop)).json()["data"]
    kei = next(r for r in runs if r["id"] == deferred.run_id)
    steps = client.get(f"/api/v1/runs/{kei['id']}", headers=auth(shop)).json()["steps"]
    assert [s["kind"] for s in steps].count("deferred") == 1
    time.sleep(0.2)
    assert len(sink.received) == 2  # one mail each, the deferred one once


def test_a_best_hour_inside_quiet_hours_goes_when_they_end_and_only_then(engine: Engine) -> None:
    shop = make_shop(engine)
    set_policy(engine, shop.workspace_id, {**NIGHT, "send_time": {"min_observations": 2}})
    owl = person(engine, shop.workspace_id)
    for days in (1, 2):  # read at 22:40 Berlin
        sent = LATE - timedelta(days=days, hours=3)
        logged(engine, shop.workspace_id, owl, sent, opened_at=sent.replace(hour=21, minute=40))
    noon = datetime(2026, 1, 14, 11, 0, tzinfo=UTC)
    best = {"send_at": "best_time"}
    decision = decide(engine, shop.workspace_id, owl, noon, zone="Europe/Berlin", options=best)
    assert decision.until == MORNING and decision.details["best_hour"] == 22
    assert (
        "best hour, 22:00" in decision.details["why"] and "quiet hours" in decision.details["why"]
    )
    waited = logged(engine, shop.workspace_id, owl, noon, status="deferred")
    with engine.begin() as conn:
        conn.execute(Message.__table__.update().where(Message.id == waited).values(
            details=decision.details))  # fmt: skip
    # In the morning it goes: not deferred to 22:00 again (and then to the morning, forever).
    assert decide(engine, shop.workspace_id, owl, MORNING, zone="Europe/Berlin", options=best,
                  logged_id=waited).goes  # fmt: skip
