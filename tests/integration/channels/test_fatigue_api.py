"""`/api/v1/delivery-policy` on both databases (roles, validation in the error shape, audit),
and a person in three flows held to the cap: the mail over it is skipped, and the message log
says why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from starlette.testclient import TestClient

from nerve.audit import service as audit
from tests.factories import Shop, make_key
from tests.smtp import SmtpSink
from tests.waiting import auth, until

POLICY = {
    "fatigue": {"limit": 3, "window": "7d", "tiers": [{"unengaged_for": "90d", "limit": 1}],
                "on_cap": "defer"},
    "quiet_hours": {"start": "21:00", "end": "08:00", "default_timezone": "Europe/Berlin"},
    "send_time": {"fallback_hour": 10, "min_observations": 5},
}  # fmt: skip


def test_the_policy_is_read_by_analysts_and_changed_by_builders_audited(
    client: TestClient, shop: Shop, engine: Engine
) -> None:
    analyst = {"Authorization": f"Bearer {make_key(engine, shop.workspace_id, 'analyst')}"}
    builder = {"Authorization": f"Bearer {make_key(engine, shop.workspace_id, 'builder')}"}
    path = "/api/v1/delivery-policy"
    default = client.get(path, headers=analyst)
    assert default.status_code == 200
    assert default.json() == {"fatigue": None, "quiet_hours": None,
                              "send_time": {"fallback_hour": 10, "min_observations": 5}}  # fmt: skip
    refused = client.put(path, json=POLICY, headers=analyst)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    saved = client.put(path, json=POLICY, headers=builder)
    assert saved.status_code == 200 and saved.json() == POLICY
    assert client.get(path, headers=auth(shop)).json() == POLICY
    with engine.connect() as conn:
        [entry] = [e for e in audit.entries(conn, shop.workspace_id)
                   if e["action"] == "delivery_policy.updated"]  # fmt: skip
    assert entry["target"] == shop.workspace_id


def test_a_bad_policy_is_refused_with_where_and_why(client: TestClient, shop: Shop) -> None:
    for bad, where in (
        ({"fatigue": {"limit": 3, "window": "a week"}}, ["fatigue", "window"]),
        ({"quiet_hours": {"start": "21:00", "end": "21:00"}}, ["quiet_hours"]),
        ({"quiet_hours": {"default_timezone": "Berlin"}}, ["quiet_hours", "default_timezone"]),
        ({"fatigue": {"on_cap": "drop"}}, ["fatigue", "on_cap"]),
        ({"caps": {}}, ["caps"]),
    ):
        refused = client.put("/api/v1/delivery-policy", json=bad, headers=auth(shop))
        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert error["code"] == "invalid_request" and where[-1] in str(error["details"]), error
    assert client.get("/api/v1/delivery-policy", headers=auth(shop)).json()["fatigue"] is None


def _flow(name: str, **timing: Any) -> dict[str, Any]:
    return {"name": name, "trigger": {"event": "Product Added", "key": "properties.cart_id"},
            "nodes": [{"id": "mail", "action": "send_email",
                       "with": {"template": "offer", "topic": "newsletter", **timing}}]}  # fmt: skip


def test_a_person_in_three_flows_is_held_to_the_cap_and_the_log_says_why(
    client: TestClient, shop: Shop, sink: SmtpSink
) -> None:
    policy = {"fatigue": {"limit": 2, "window": "7d", "on_cap": "skip"}}
    assert client.put("/api/v1/delivery-policy", json=policy, headers=auth(shop)).status_code == 200
    template = {"name": "offer", "subject": "An offer", "html": "<p>For you</p>"}
    assert client.post("/api/v1/templates", json=template, headers=auth(shop)).status_code == 201
    for flow in (_flow("welcome"), _flow("cart"), _flow("restock")):
        published = client.post("/api/v1/flows", json=flow, headers=auth(shop),
                                params={"environment": "production"})  # fmt: skip
        assert published.status_code == 201, published.text
    bad = _flow("loud", frequency_cap={"limit": 5}, over_cap="drop")
    refused = client.post("/api/v1/flows", json=bad, headers=auth(shop))
    assert refused.status_code == 400
    paths = {p["path"] for p in refused.json()["error"]["details"]}
    assert {"nodes[0].with.frequency_cap.window", "nodes[0].with.over_cap"} <= paths
    given = {"email": "gina@example.com", "topic": "newsletter", "double_opt_in": False,
             "consent_text": "Yes", "source_url": "https://shop.example/"}  # fmt: skip
    assert client.post("/api/v1/consent", json=given, headers=auth(shop)).status_code == 201
    for message in (
        {"type": "identify", "traits": {"email": "gina@example.com"}},
        {"type": "track", "event": "Product Added", "properties": {"cart_id": "c1"}},
    ):
        sent = client.post(f"/v1/{message.pop('type')}", json={"userId": "gina", **message},
                           auth=(shop.write_keys["web"], ""))  # fmt: skip
        assert sent.status_code == 200, sent.text

    def logged(status: str) -> list[dict[str, Any]]:
        found = client.get("/api/v1/messages", params={"status": status}, headers=auth(shop))
        return found.json()["data"]  # type: ignore[no-any-return]

    [skipped] = until(lambda: logged("skipped"))
    assert skipped["reason"] == "over the fatigue cap: 2 marketing messages in 7d (limit 2)"
    assert (skipped["details"]["counted"], skipped["details"]["window"]) == (2, "7d")
    assert len(until(lambda: len(logged("sent")) == 2 and logged("sent"))) == 2
    assert len(sink.received) == 2


def test_the_messages_api_says_when_to_send_a_held_marketing_mail_again(
    client: TestClient, shop: Shop, sink: SmtpSink
) -> None:
    now = datetime.now(UTC)
    quiet = {"quiet_hours": {"start": (now - timedelta(hours=1)).strftime("%H:%M:%S"),
                             "end": (now + timedelta(hours=1)).strftime("%H:%M:%S")}}  # fmt: skip
    assert client.put("/api/v1/delivery-policy", json=quiet, headers=auth(shop)).status_code == 200
    given = {"email": "hana@example.com", "topic": "newsletter", "double_opt_in": False,
             "consent_text": "Yes", "source_url": "https://shop.example/"}  # fmt: skip
    assert client.post("/api/v1/consent", json=given, headers=auth(shop)).status_code == 201
    offer = {"to": {"email": "hana@example.com"}, "topic": "newsletter",
             "content": {"subject": "Our offer", "html": "<p>20 % off</p>"}}  # fmt: skip
    headers = auth(shop) | {"Idempotency-Key": "offer-hana"}
    held = client.post("/api/v1/messages", json=offer, headers=headers)
    assert held.status_code == 503, held.text
    error = held.json()["error"]
    assert "quiet hours" in error["message"] and error["details"]["retry_at"]
    assert sink.received == []
    assert client.put("/api/v1/delivery-policy", json={}, headers=auth(shop)).status_code == 200
    sent = client.post("/api/v1/messages", json=offer, headers=headers)
    assert sent.status_code == 201 and sent.json()["status"] == "sent", sent.text
    assert len(until(lambda: sink.received)) == 1
    # Without an Idempotency-Key nothing can take a held send up again: it is skipped, saying so.
    assert client.put("/api/v1/delivery-policy", json=quiet, headers=auth(shop)).status_code == 200
    unkeyed = client.post("/api/v1/messages", json=offer, headers=auth(shop))
    assert unkeyed.status_code == 503, unkeyed.text
    found = client.get("/api/v1/messages", params={"status": "skipped"}, headers=auth(shop))
    [skipped] = found.json()["data"]
    assert "quiet hours" in skipped["reason"] and "no Idempotency-Key" in skipped["reason"]
    deferred = client.get("/api/v1/messages", params={"status": "deferred"}, headers=auth(shop))
    assert deferred.json()["data"] == []


def test_a_held_send_whose_run_ends_is_skipped_saying_so(
    client: TestClient, shop: Shop, sink: SmtpSink
) -> None:
    """Held back by the cap, the person then leaves the flow (they ordered): the held mail
    will never go, and its row says so instead of waiting `deferred` for ever."""
    policy = {"fatigue": {"limit": 1, "window": "7d", "on_cap": "defer"}}
    assert client.put("/api/v1/delivery-policy", json=policy, headers=auth(shop)).status_code == 200
    template = {"name": "offer", "subject": "An offer", "html": "<p>For you</p>"}
    assert client.post("/api/v1/templates", json=template, headers=auth(shop)).status_code == 201
    flow = {**_flow("cart"), "exit": [{"event": "Order Completed"}]}
    published = client.post("/api/v1/flows", json=flow, headers=auth(shop),
                            params={"environment": "production"})  # fmt: skip
    assert published.status_code == 201, published.text
    given = {"email": "ida@example.com", "topic": "newsletter", "double_opt_in": False,
             "consent_text": "Yes", "source_url": "https://shop.example/"}  # fmt: skip
    assert client.post("/api/v1/consent", json=given, headers=auth(shop)).status_code == 201

    def track(message: dict[str, Any]) -> None:
        sent = client.post(f"/v1/{message.pop('type')}", json={"userId": "ida", **message},
                           auth=(shop.write_keys["web"], ""))  # fmt: skip
        assert sent.status_code == 200, sent.text

    def logged(status: str) -> list[dict[str, Any]]:
        found = client.get("/api/v1/messages", params={"status": status}, headers=auth(shop))
        return found.json()["data"]  # type: ignore[no-any-return]

    track({"type": "identify", "traits": {"email": "ida@example.com"}})
    for cart in ("c1", "c2"):
        track({"type": "track", "event": "Product Added", "properties": {"cart_id": cart}})
    until(lambda: logged("sent") and logged("deferred"))
    track({"type": "track", "event": "Order Completed", "properties": {"order_id": "o1"}})
    [skipped] = until(lambda: logged("skipped"))
    assert skipped["reason"] == "the run moved on while the send was held back"
    assert logged("deferred") == [] and len(sink.received) == 1
