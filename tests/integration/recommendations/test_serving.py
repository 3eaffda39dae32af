"""Recommendations over the real API, trained on orders the heads sent: frequently bought
together; a person's picks without what they bought (but with the coffee that is due again)
and without what is in their cart; nothing sold out or archived; the bestsellers for someone
unknown; a template's `{% for p in recommendations limit: 3 %}` in a preview."""

from __future__ import annotations

from sqlalchemy import Engine
from starlette.testclient import TestClient

from nerve.catalog import service as catalog
from nerve.db.engine import write_transaction
from nerve.recommendations import service, training
from tests.factories import Shop, make_key
from tests.integration.carts.conftest import track
from tests.integration.recommendations.conftest import (
    admin,
    order,
    profile_id,
    settle,
    skus,
    stock,
    viewed,
)


def _shop_history(client: TestClient, engine: Engine, shop: Shop) -> None:
    """Shoes go with socks (four baskets), once with a bottle; caps sell to everyone."""
    stock(engine, shop)
    for n in range(4):
        order(client, shop, f"runner-{n}", f"R-{n}", ["SHOE-1", "SOCK-1"])
        order(client, shop, f"runner-{n}", f"RC-{n}", ["CAP-1"], days_ago=2)
    order(client, shop, "runner-9", "R-9", ["SHOE-1", "BOTTLE-1", "OUT-1", "OLD-1"])
    order(client, shop, "capper", "C-1", ["CAP-1", "TEA-1"], days_ago=3)
    order(client, shop, "capper-2", "C-2", ["CAP-1"], days_ago=3)
    settle(engine)


def test_frequently_bought_together_leaves_out_what_cannot_be_sold(
    client: TestClient, engine: Engine, shop: Shop
) -> None:
    _shop_history(client, engine, shop)
    training.train(engine, shop.workspace_id)
    # Since the training, one sold out and one was archived: they are not offered.
    with write_transaction(engine) as conn:
        catalog.set_inventory(conn, shop.workspace_id, "OUT-1", on_hand=0)
        old = catalog.product(conn, shop.workspace_id, "OLD-1")
        catalog.upsert_products(conn, shop.workspace_id, [
            catalog_product(old, status="archived")])  # fmt: skip
    together = admin(client, shop.secret_key, "GET", "/api/v1/products/SHOE-1/recommendations")
    assert skus(together) == ["SOCK-1", "BOTTLE-1"]
    first = together.json()["items"][0]
    assert first | {"score": 0} == {
        "sku": "SOCK-1", "product_id": "SOCK-1", "name": "Running sock", "price": "9.99",
        "currency": "EUR", "url": "https://shop.example/p/SOCK-1",
        "image_url": "https://shop.example/i/SOCK-1.jpg", "score": 0,
        "reason": "bought_together"}  # fmt: skip
    # The same runners bought caps in other orders: "customers who bought this also bought".
    also = admin(client, shop.secret_key, "GET", "/api/v1/products/SHOE-1/recommendations",
                 params={"kind": "also_bought", "limit": 1})  # fmt: skip
    assert skus(also) == ["CAP-1"]
    # The store tablet may ask too.
    staff = make_key(engine, shop.workspace_id, "staff")
    assert skus(admin(client, staff, "GET", "/api/v1/products/SOCK-1/recommendations")) == [
        "SHOE-1"]  # fmt: skip


def catalog_product(stored: dict[str, object], **changes: object) -> object:
    from nerve.catalog.schemas import ProductIn

    fields = {k: v for k, v in stored.items() if k in ProductIn.model_fields}
    return ProductIn.model_validate(fields | changes)


def test_a_persons_picks_skip_what_they_bought_or_carry_but_bring_back_due_coffee(
    client: TestClient, engine: Engine, shop: Shop
) -> None:
    _shop_history(client, engine, shop)
    order(client, shop, "anna", "A-1", ["COFFEE-1"], days_ago=40)  # due again (30 days)
    order(client, shop, "anna", "A-2", ["TEA-1"], days_ago=5)  # not yet
    viewed(client, shop, "anna", "SHOE-1")
    settle(engine)  # her orders first: an order completed closes the cart open before it
    cart = admin(client, shop.secret_key, "POST", "/api/v1/carts",
                 json={"identifier": "user_id:anna"}).json()  # fmt: skip
    admin(client, shop.secret_key, "POST", f"/api/v1/carts/{cart['id']}/lines",
          json={"sku": "CAP-1", "quantity": 1})  # fmt: skip
    settle(engine)
    training.train(engine, shop.workspace_id)
    anna = profile_id(client, shop, "anna")
    picks = admin(client, shop.secret_key, "GET", f"/api/v1/profiles/{anna}/recommendations")
    found = skus(picks)
    reasons = {item["sku"]: item["reason"] for item in picks.json()["items"]}
    assert found[0] == "COFFEE-1" and reasons["COFFEE-1"] == "due_again"
    # The shoe she looked at brings its sock (the model), and she may still buy the shoe.
    assert reasons["SOCK-1"] == "personal" and "SHOE-1" in found
    assert "TEA-1" not in found  # bought five days ago, lasts thirty
    assert "CAP-1" not in found  # in her cart (and the shop's bestseller)
    # Without her cart the cap is back, as a bestseller.
    admin(client, shop.secret_key, "DELETE", f"/api/v1/carts/{cart['id']}/lines")
    assert "CAP-1" in skus(admin(client, shop.secret_key, "GET",
                                 f"/api/v1/profiles/{anna}/recommendations"))  # fmt: skip


def test_someone_unknown_gets_the_bestsellers(
    client: TestClient, engine: Engine, shop: Shop
) -> None:
    _shop_history(client, engine, shop)
    track(client, shop.write_keys["web"], "identify", {"userId": "new-visitor"})
    settle(engine)
    training.train(engine, shop.workspace_id)
    with engine.connect() as conn:
        anonymous = service.for_person(conn, shop.workspace_id, None, limit=3)
        in_category = service.for_person(conn, shop.workspace_id, None, category="Running")
    assert [(r.sku, r.reason) for r in anonymous] == [
        ("CAP-1", "popular"), ("SHOE-1", "popular"), ("SOCK-1", "popular")]  # fmt: skip
    assert [r.sku for r in in_category] == ["SHOE-1", "SOCK-1", "BOTTLE-1", "OLD-1", "OUT-1"]
    newcomer = profile_id(client, shop, "new-visitor")
    picks = admin(client, shop.secret_key, "GET", f"/api/v1/profiles/{newcomer}/recommendations",
                  params={"limit": 2}).json()["items"]  # fmt: skip
    assert [(p["sku"], p["reason"]) for p in picks] == [("CAP-1", "popular"),
                                                         ("SHOE-1", "popular")]  # fmt: skip


def test_bad_requests_answer_in_the_error_shape(
    client: TestClient, engine: Engine, shop: Shop
) -> None:
    stock(engine, shop)
    for path, params, status in (
        ("/api/v1/products/SHOE-1/recommendations", {"kind": "sometimes"}, 400),
        ("/api/v1/products/SHOE-1/recommendations", {"limit": 0}, 400),
        ("/api/v1/products/NOPE/recommendations", {}, 404),
        ("/api/v1/profiles/prf_nobody/recommendations", {}, 404),
        ("/api/v1/profiles/prf_nobody/recommendations", {"limit": 51}, 400),
    ):
        answer = admin(client, shop.secret_key, "GET", path, params=params)
        assert answer.status_code == status, (path, params, answer.text)
        assert set(answer.json()["error"]) >= {"code", "message"}
    analyst = make_key(engine, shop.workspace_id, "analyst")
    refused = admin(client, analyst, "POST", "/api/v1/recommendations/train")
    assert refused.status_code == 403, refused.text


def test_a_template_loops_over_the_persons_recommendations_in_a_preview(
    client: TestClient, engine: Engine, shop: Shop
) -> None:
    _shop_history(client, engine, shop)
    viewed(client, shop, "anna", "SHOE-1")
    settle(engine)
    training.train(engine, shop.workspace_id)
    template = {"name": "picks", "subject": "For you",
                "html": "<ul>{% for p in recommendations limit: 3 %}<li>{{ p.name }} "
                        "{{ p.price }} {{ p.currency }}</li>{% endfor %}</ul>"}  # fmt: skip
    saved = admin(client, shop.secret_key, "POST", "/api/v1/templates", json=template)
    assert saved.status_code == 201, saved.text
    anna = profile_id(client, shop, "anna")
    shown = admin(client, shop.secret_key, "POST", "/api/v1/templates/picks/preview",
                  json={"profile_id": anna})  # fmt: skip
    assert shown.status_code == 200, shown.text
    html = shown.json()["html"]
    assert html.count("<li>") == 3 and "<li>Running sock 9.99 EUR</li>" in html
    sample = admin(client, shop.secret_key, "POST", "/api/v1/templates/picks/preview", json={})
    assert sample.json()["html"].count("<li>") == 3  # the sample person's sample products
