"""Orders from heads and shops: one order per order id, exact amounts, a status history that
ends right however its webhooks arrive, and one event per status."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, text
from starlette.testclient import TestClient

from nerve.orders.models import Order
from tests.factories import Shop, make_key, make_shop
from tests.integration.profiles.test_identity import settle
from tests.waiting import auth, until

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _track(client: TestClient, shop: Shop, message: dict[str, Any]) -> None:
    response = client.post("/v1/track", json=message, auth=(shop.write_keys["web"], ""))
    assert response.status_code == 200, response.text


def _post(client: TestClient, shop: Shop, path: str, body: Any, status: int = 201) -> Any:
    response = client.post(path, json=body, headers=auth(shop))
    assert response.status_code == status, response.text
    return response.json()


def _get(client: TestClient, shop: Shop, path: str, **params: Any) -> Any:
    response = client.get(path, params=params, headers=auth(shop))
    assert response.status_code == 200, response.text
    return response.json()


def _person(client: TestClient, shop: Shop, identifier: str) -> Any:
    return _get(client, shop, "/api/v1/profiles", identifier=identifier)


def _timeline(client: TestClient, shop: Shop, identifier: str) -> Counter[str]:
    person = _person(client, shop, identifier)
    events = _get(client, shop, f"/api/v1/profiles/{person['id']}/timeline")["data"]
    return Counter(e["event"] for e in events if e.get("type") == "track")


def _orders_in_db(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Order)) or 0)


def test_a_heads_order_completed_and_a_shops_order_are_one_order(
    client: TestClient, engine: Engine
) -> None:
    shop = make_shop(engine, kinds=("web",))
    _track(client, shop, {
        "userId": "anna", "event": "Order Completed", "timestamp": T0.isoformat(),
        "context": {"traits": {"email": "anna@example.com"}},
        "properties": {"order_id": "1001", "total": 30.1, "currency": "EUR", "coupon": "SUMMER",
                       "products": [{"sku": "TEE-M", "name": "Tee", "quantity": 2,
                                     "price": 15.05}]},
    })  # fmt: skip
    settle(engine)
    first = _get(client, shop, "/api/v1/orders/1001")
    assert first["sources"] == ["web"] and first["profile_id"] is not None
    assert first["lines"] == [{"sku": "TEE-M", "product_id": None, "name": "Tee", "quantity": 2,
                               "price": "15.05", "line_total": "30.10"}]  # fmt: skip

    # The shop's webhook reports the same order later, with what the head did not know.
    shops = {"order_id": "1001", "user_id": "anna", "email": "anna@example.com",
             "currency": "EUR", "total": "30.10", "tax": "4.81", "shipping": 0,
             "coupons": ["SUMMER", "VIP"], "b2b": True, "placed_at": T0.isoformat(),
             "lines": [{"sku": "OTHER", "quantity": 9, "price": "1.00"}]}  # fmt: skip
    answer = _post(client, shop, "/api/v1/orders", shops, status=200)
    assert answer["created"] is False
    again = _post(client, shop, "/api/v1/orders", shops, status=200)  # a retried webhook
    assert again["order"] == answer["order"]
    order = answer["order"]
    assert order["total"] == "30.10" and order["tax"] == "4.81" and order["shipping"] == "0.00"
    assert order["coupons"] == ["SUMMER", "VIP"] and order["b2b"] is True
    assert order["sources"] == ["web", "api"]
    assert [line["sku"] for line in order["lines"]] == ["TEE-M"]  # the first report's lines stay
    settle(engine)
    assert _orders_in_db(engine) == 1
    person = _person(client, shop, "user_id:anna")
    assert person["computed"]["order_count"] == 1
    assert person["computed"]["total_spent"] == 30.1
    assert person["computed"]["spend_currency"] == "EUR"
    # The head's Order Completed is the order's only one: the shop's added no second.
    assert _timeline(client, shop, "user_id:anna")["Order Completed"] == 1


def test_a_shops_order_first_then_the_heads_event_is_still_one_order(
    client: TestClient, engine: Engine
) -> None:
    shop = make_shop(engine, kinds=("web",))
    created = _post(client, shop, "/api/v1/orders", {
        "order_id": "2002", "email": "ben@example.com", "currency": "EUR", "total": "49.90",
        "placed_at": T0.isoformat(), "cart_id": "cart-9",
        "lines": [{"sku": "CAP", "quantity": 1, "price": "49.90"}],
    })  # fmt: skip
    assert created["created"] is True and created["order"]["profile_id"] is None
    settle(engine)
    # Nerve's own Order Completed about the shop's customer gave the order its person.
    attached = _get(client, shop, "/api/v1/orders/2002")
    assert attached["profile_id"] is not None
    ben = _person(client, shop, "email:ben@example.com")
    assert ben["computed"]["order_count"] == 1 and ben["computed"]["total_spent"] == 49.9
    assert _timeline(client, shop, "email:ben@example.com")["Order Completed"] == 1

    _track(client, shop, {
        "userId": "ben", "event": "Order Completed",
        "context": {"traits": {"email": "ben@example.com"}},
        "properties": {"order_id": "2002", "total": 49.9, "currency": "EUR", "discount": 5},
    })  # fmt: skip
    settle(engine)
    assert _orders_in_db(engine) == 1
    order = _get(client, shop, "/api/v1/orders/2002")
    assert order["discount"] == "5.00" and order["sources"] == ["api", "web"]
    assert order["cart_id"] == "cart-9"
    ben = _person(client, shop, "user_id:ben")
    assert ben["computed"]["order_count"] == 1 and ben["computed"]["total_spent"] == 49.9
    listed = _get(client, shop, f"/api/v1/profiles/{ben['id']}/orders")["data"]
    assert [o["order_id"] for o in listed] == ["2002"]


def test_statuses_out_of_order_end_right_and_each_event_is_recorded_once(
    client: TestClient, engine: Engine
) -> None:
    shop = make_shop(engine, kinds=("web",))
    path = "/api/v1/orders/3003/statuses"
    shipped = {"status": "shipped", "at": (T0 + timedelta(days=1)).isoformat(),
               "carrier": "DHL", "tracking_number": "00340434", "tracking_url":
               "https://www.dhl.de/track?n=00340434"}  # fmt: skip
    # The carrier's `delivered` and the payment's `paid` both overtake the order itself.
    delivered = {"status": "delivered", "at": (T0 + timedelta(days=2)).isoformat()}
    waiting = _post(client, shop, path, delivered)
    assert waiting == {"created": True, "order": None}
    _post(client, shop, path, {"status": "paid", "at": (T0 + timedelta(minutes=5)).isoformat()})
    _post(client, shop, "/api/v1/orders", {
        "order_id": "3003", "user_id": "cleo", "currency": "EUR", "total": "19.99",
        "placed_at": T0.isoformat(),
    })  # fmt: skip
    answer = _post(client, shop, path, shipped)
    assert answer["order"]["status"] == "delivered"  # shipped is older than delivered
    assert _post(client, shop, path, delivered, status=200)["created"] is False  # a retry
    _post(client, shop, path, shipped, status=200)

    order = _get(client, shop, "/api/v1/orders/3003")
    assert order["status"] == "delivered"
    assert [s["status"] for s in order["statuses"]] == ["paid", "shipped", "delivered"]
    assert order["statuses"][1]["detail"]["carrier"] == "DHL"
    settle(engine)
    events = _timeline(client, shop, "user_id:cleo")
    assert {name: events[name] for name in
            ("Order Completed", "order_paid", "order_shipped", "order_delivered")} == {
        "Order Completed": 1, "order_paid": 1, "order_shipped": 1, "order_delivered": 1}  # fmt: skip

    # A refund after delivery is the latest; a partial refund's amount is exact.
    refund = {"status": "partly_refunded", "at": (T0 + timedelta(days=5)).isoformat(),
              "amount": "5.01", "reason": "damaged"}  # fmt: skip
    _post(client, shop, path, refund)
    order = _get(client, shop, "/api/v1/orders/3003")
    assert order["status"] == "partly_refunded"
    assert order["statuses"][-1]["detail"] == {"amount": "5.01", "reason": "damaged"}
    settle(engine)
    person = _person(client, shop, "user_id:cleo")
    timeline = _get(client, shop, f"/api/v1/profiles/{person['id']}/timeline")["data"]
    refunded = [e for e in timeline if e.get("event") == "order_partly_refunded"]
    assert len(refunded) == 1
    assert refunded[0]["properties"]["amount"] == 5.01
    assert refunded[0]["properties"]["order_id"] == "3003"
    shipped_event = next(e for e in timeline if e.get("event") == "order_shipped")
    assert shipped_event["properties"]["tracking_number"] == "00340434"


def test_an_order_paid_flow_starts_exactly_one_run(client: TestClient, engine: Engine) -> None:
    shop = make_shop(engine, kinds=("web",))
    flow = {"name": "paid_thanks", "trigger": {"event": "order_paid", "reentry": "always"},
            "nodes": [{"id": "tag", "action": "add_tag", "with": {"tag": "paid"}}]}  # fmt: skip
    response = client.post(
        "/api/v1/flows", params={"environment": "production"}, json=flow, headers=auth(shop)
    )
    assert response.status_code == 201, response.text
    for order_id in ("4004", "4005"):
        _post(client, shop, "/api/v1/orders",
              {"order_id": order_id, "user_id": "dora", "total": 10, "currency": "EUR"})  # fmt: skip
    paid = {"status": "paid", "at": T0.isoformat()}
    _post(client, shop, "/api/v1/orders/4004/statuses", paid)
    _post(client, shop, "/api/v1/orders/4004/statuses", paid, status=200)  # the retry
    _post(client, shop, "/api/v1/orders/4004/statuses", {"status": "shipped"})

    def runs() -> list[Any]:
        found: list[Any] = _get(client, shop, "/api/v1/flows/paid_thanks/runs")["data"]
        return found

    until(lambda: len(runs()) == 1 and runs()[0]["status"] == "completed")
    # Another order's payment: its run proves the retry above was seen and started nothing.
    _post(client, shop, "/api/v1/orders/4005/statuses", paid)
    until(lambda: len(runs()) == 2)
    settle(engine)
    assert len(runs()) == 2


def test_amounts_are_exact_and_bad_input_is_refused_whole(
    client: TestClient, engine: Engine
) -> None:
    shop = make_shop(engine, kinds=("web",))
    for order_id, total in (("5001", 0.1), ("5002", 0.2)):
        _post(client, shop, "/api/v1/orders", {"order_id": order_id, "user_id": "eva",
                                                "currency": "EUR", "total": total})  # fmt: skip
    settle(engine)
    eva = _person(client, shop, "user_id:eva")
    assert eva["computed"]["total_spent"] == 0.3  # 0.1 + 0.2, not 0.30000000000000004
    assert eva["computed"]["average_order_value"] == 0.15
    assert _get(client, shop, "/api/v1/orders/5001")["total"] == "0.10"

    bad = [
        {"order_id": "5003", "user_id": "eva", "total": 0.1 + 0.2},  # a float's noise
        {"order_id": "5003", "user_id": "eva", "total": "NaN"},
        {"order_id": "5003", "user_id": "eva", "total": "abc"},
        {"order_id": "5003", "user_id": "eva", "lines": [{"sku": "X", "price": "1.23456"}]},
        {"order_id": "5003", "total": "1.00"},  # nobody bought it
        {"order_id": "", "user_id": "eva"},
        {"order_id": "5003", "user_id": "eva", "currency": "euro"},
    ]
    for body in bad:
        response = client.post("/api/v1/orders", json=body, headers=auth(shop))
        assert response.status_code == 400, (body, response.text)
        assert set(response.json()["error"]) == {"code", "message", "details"}
    unknown = client.post(
        "/api/v1/orders/5001/statuses", json={"status": "lost"}, headers=auth(shop)
    )
    assert unknown.status_code == 400, unknown.text
    missing = client.get("/api/v1/orders/nope", headers=auth(shop))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert _orders_in_db(engine) == 2
    assert _get(client, shop, "/api/v1/orders/5001")["statuses"] == []


def test_spend_is_in_the_main_currency(client: TestClient, engine: Engine) -> None:
    shop = make_shop(engine, kinds=("web",))
    for order_id, total, currency in (("6001", "10.00", "EUR"), ("6002", "20.00", "EUR"),
                                      ("6003", "99.00", "CHF")):  # fmt: skip
        _post(client, shop, "/api/v1/orders", {"order_id": order_id, "user_id": "finn",
                                                "currency": currency, "total": total})  # fmt: skip
    settle(engine)
    computed = _person(client, shop, "user_id:finn")["computed"]
    assert computed["order_count"] == 3
    assert computed["spend_currency"] == "EUR"
    assert computed["total_spent"] == 30.0 and computed["average_order_value"] == 15.0


def test_roles(client: TestClient, engine: Engine) -> None:
    shop = make_shop(engine, kinds=("web",))
    _post(client, shop, "/api/v1/orders", {"order_id": "7001", "user_id": "gus"})
    staff = {"Authorization": f"Bearer {make_key(engine, shop.workspace_id, 'staff')}"}
    assert client.get("/api/v1/orders/7001", headers=staff).status_code == 200
    refused = client.post("/api/v1/orders", json={"order_id": "7002", "user_id": "gus"},
                          headers=staff)  # fmt: skip
    assert refused.status_code == 403


def test_export_and_erase_reach_lines_statuses_and_waiting_orders(
    client: TestClient, engine: Engine
) -> None:
    shop = make_shop(engine, kinds=("web",))
    order = {"order_id": "8001", "user_id": "hana", "email": "hana@example.com", "total": "12.50",
             "lines": [{"sku": "SOCKS", "name": "Socks", "quantity": 1, "price": "12.50"}]}  # fmt: skip
    _post(client, shop, "/api/v1/orders", order)
    _post(client, shop, "/api/v1/orders/8001/statuses",
          {"status": "shipped", "carrier": "UPS", "tracking_number": "1Z999"})  # fmt: skip
    settle(engine)
    hana = _person(client, shop, "user_id:hana")
    exported = _get(client, shop, f"/api/v1/profiles/{hana['id']}/export")["orders"]
    assert exported[0]["lines"][0]["sku"] == "SOCKS"
    assert exported[0]["statuses"][0]["detail"]["tracking_number"] == "1Z999"
    # A second order arrives while the erase runs: its own event is not attached yet.
    _post(client, shop, "/api/v1/orders", {**order, "order_id": "8002"})
    response = client.delete(f"/api/v1/profiles/{hana['id']}", headers=auth(shop))
    assert response.status_code == 204, response.text
    with engine.connect() as conn:
        for table in ("orders", "order_lines", "order_statuses"):
            assert conn.scalar(text(f"SELECT count(*) FROM {table}")) == 0, table


def test_a_heads_order_cancelled_is_a_status_of_the_order(
    client: TestClient, engine: Engine
) -> None:
    shop = make_shop(engine, kinds=("web",))
    _track(client, shop, {"userId": "ida", "event": "Order Completed",
                          "properties": {"order_id": "9001", "total": 5}})  # fmt: skip
    _track(client, shop, {"userId": "ida", "event": "Order Cancelled",
                          "properties": {"order_id": "9001"}})  # fmt: skip
    settle(engine)
    order = _get(client, shop, "/api/v1/orders/9001")
    assert order["status"] == "cancelled" and order["statuses"][0]["source"] == "web"
    settle(engine)
    assert _timeline(client, shop, "user_id:ida")["order_cancelled"] == 1


def test_a_status_of_an_order_from_before_0018_reaches_its_person(
    client: TestClient, engine: Engine
) -> None:
    shop = make_shop(engine, kinds=("web",))
    _track(client, shop, {"userId": "jon", "event": "Order Completed",
                          "properties": {"order_id": "9101", "total": 7}})  # fmt: skip
    settle(engine)
    with engine.begin() as conn:  # as migrated: the order knows its profile, not its customer
        conn.execute(text("UPDATE orders SET user_id = NULL, anonymous_id = NULL"))
    _post(client, shop, "/api/v1/orders/9101/statuses", {"status": "paid"})
    settle(engine)
    assert _timeline(client, shop, "user_id:jon")["order_paid"] == 1
