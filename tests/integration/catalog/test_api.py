"""`/api/v1/products`, `/api/v1/inventory` and `/api/v1/catalog/quality` as a shop's developer
uses them: NDJSON bulk sync where bad lines are reported and good ones apply, exact prices as
strings, stock per location, the quality report, roles and the error shape."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Engine
from starlette.testclient import TestClient

from tests.factories import Shop, make_key
from tests.waiting import auth

NDJSON = {"Content-Type": "application/x-ndjson"}


def _line(i: int, **fields: Any) -> dict[str, Any]:
    return {"sku": f"SKU-{i:04d}", "product_id": f"P-{i // 3}", "name": f"Product {i}",
            "price": f"{10 + i % 50}.99", "currency": "EUR"} | fields  # fmt: skip


def _ndjson(records: list[Any]) -> bytes:
    return b"\n".join(r if isinstance(r, bytes) else orjson.dumps(r) for r in records) + b"\n"


def _put(client: TestClient, shop: Shop, body: bytes) -> Any:
    return client.put("/api/v1/products", content=body, headers=auth(shop) | NDJSON)


def test_a_sync_of_1000_lines_with_3_bad_ones_applies_997_and_reports_3(
    client: TestClient, shop: Shop
) -> None:
    records: list[Any] = [_line(i) for i in range(1000)]
    records[9] = _line(9, price="12.345678")  # line 10: more than four decimals
    records[499] = b'{"sku": "SKU-0499", "name": '  # line 500: cut off
    records[999] = _line(999, currency="euro", status="gone")  # line 1000: two reasons
    answer = _put(client, shop, _ndjson(records))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["applied"] == 997 and body["changed"] == 997
    assert [f["line"] for f in body["failed"]] == [10, 500, 1000]
    reasons = [f["reason"] for f in body["failed"]]
    assert reasons[0].startswith("price:") and "4 decimals" in reasons[0]
    assert reasons[1].startswith("not JSON")
    assert "currency:" in reasons[2] and "status:" in reasons[2]
    assert body["events"] == 997 * 2  # each new active product: published, and incomplete

    page = client.get("/api/v1/products", params={"limit": 500}, headers=auth(shop)).json()
    rest = client.get("/api/v1/products", params={"limit": 500, "cursor": page["next_cursor"]},
                      headers=auth(shop)).json()  # fmt: skip
    skus = [p["sku"] for p in page["data"] + rest["data"]]
    assert len(skus) == 997 and skus == sorted(skus) and "SKU-0009" not in skus
    assert rest["next_cursor"] is None

    again = _put(client, shop, _ndjson(records)).json()  # the same state: nothing changes
    assert (again["applied"], again["changed"], again["events"]) == (997, 0, 0)


def test_a_product_reads_back_exactly_with_its_stock_per_location(
    client: TestClient, shop: Shop
) -> None:
    line = _line(1, price=19.9, compare_at_price="24.90", cost="7.1234", gtin="4006381333931",
                 category=["Apparel", "Shirts"], tags=["cotton"], collections=["Summer"],
                 attributes={"size": "XL", "color": "Red"}, usage_days=30)  # fmt: skip
    assert _put(client, shop, _ndjson([line])).status_code == 200
    stock = client.patch("/api/v1/inventory/SKU-0001", json={"on_hand": 7, "reserved": 2,
                         "minimum": 3, "supplier_price": "4.5", "supplier_currency": "eur"},
                         headers=auth(shop))  # fmt: skip
    assert stock.status_code == 200, stock.text
    assert stock.json()["available"] == 5
    bulk = client.patch("/api/v1/inventory", content=_ndjson([
        {"sku": "SKU-0001", "location": "store", "on_hand": 1},
        {"sku": "SKU-0001", "on_hand": "many"},
    ]), headers=auth(shop) | NDJSON)  # fmt: skip
    assert bulk.status_code == 200, bulk.text
    assert bulk.json()["applied"] == 1 and bulk.json()["failed"][0]["line"] == 2

    product = client.get("/api/v1/products/SKU-0001", headers=auth(shop)).json()
    assert product["price"] == "19.90" and product["compare_at_price"] == "24.90"
    assert product["cost"] == "7.1234" and product["category"] == "Apparel > Shirts"
    assert product["product_id"] == "P-0" and product["attributes"] == {
        "size": "XL",
        "color": "Red",
    }
    assert product["available"] == 6
    default, store = product["inventory"]  # by location name
    assert (default["location"], default["minimum"], default["supplier_price"]) == (
        "default",
        3,
        "4.50",
    )
    assert default["supplier_currency"] == "EUR" and store["location"] == "store"


def test_the_quality_report_finds_gaps_and_one_value_spelled_several_ways(
    client: TestClient, shop: Shop
) -> None:
    complete = {"gtin": "4006381333931", "category": "Shirts", "image_url": "https://i/1.jpg",
                "image_alt": "A shirt"}  # fmt: skip
    records = [
        _line(1, attributes={"size": "XL", "color": "Grey"}, **complete),
        _line(2, attributes={"size": "xl", "color": "Gray"}, **complete),
        _line(3, attributes={"size": "X-Large", "color": "Gray"}, **complete),
        _line(4, attributes={"size": "xl"}, category="Shoes"),  # another category: no clash
        _line(5, status="archived"),  # gone from the shop: not checked
    ]
    assert _put(client, shop, _ndjson(records)).status_code == 200
    report = client.get("/api/v1/catalog/quality", headers=auth(shop)).json()
    assert report["products"] == 4
    assert report["missing"] == {"image": 1, "image_alt": 1, "gtin": 1, "category": 0}
    assert report["missing_skus"]["gtin"] == ["SKU-0004"]
    clashes = {(p["category"], p["attribute"]): p for p in report["inconsistent_attributes"]}
    assert set(clashes) == {("Shirts", "size"), ("Shirts", "color")}
    assert clashes[("Shirts", "size")]["spellings"] == {"XL": 1, "xl": 1, "X-Large": 1}
    assert clashes[("Shirts", "color")]["suggested"] == "Gray"


def test_bad_requests_get_the_error_shape_and_change_nothing(
    client: TestClient, shop: Shop, engine: Engine
) -> None:
    cases = [
        (b"", NDJSON, 400),
        (_ndjson([{"sku": "A"}, b"[1]"]), NDJSON, 400),  # no line valid
        (_ndjson([_line(1)]), {"Content-Type": "text/csv"}, 415),
        (b'{"sku": "A"}', {"Content-Type": "application/json"}, 400),  # not a list
    ]
    for body, headers, status in cases:
        answer = client.put("/api/v1/products", content=body, headers=auth(shop) | headers)
        assert answer.status_code == status, answer.text
        assert set(answer.json()["error"]) == {"code", "message", "details"}
    assert client.get("/api/v1/products", headers=auth(shop)).json()["data"] == []
    missing = client.get("/api/v1/products/NOPE", headers=auth(shop))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    bad_cursor = client.get("/api/v1/products", params={"cursor": "%%%"}, headers=auth(shop))
    assert bad_cursor.status_code == 400
    as_json = client.put("/api/v1/products", json=[_line(1), {"sku": ""}], headers=auth(shop))
    assert as_json.json()["applied"] == 1 and as_json.json()["failed"][0]["line"] == 2


def test_analysts_and_staff_read_the_catalog_but_do_not_change_it(
    client: TestClient, shop: Shop, engine: Engine
) -> None:
    for role in ("analyst", "staff"):
        key = {"Authorization": f"Bearer {make_key(engine, shop.workspace_id, role)}"}
        assert client.get("/api/v1/products", headers=key).status_code == 200
        assert client.get("/api/v1/catalog/quality", headers=key).status_code == 200
        put = client.put("/api/v1/products", content=_ndjson([_line(1)]), headers=key | NDJSON)
        assert put.status_code == 403
        patch = client.patch("/api/v1/inventory/A", json={"on_hand": 1}, headers=key)
        assert patch.status_code == 403
