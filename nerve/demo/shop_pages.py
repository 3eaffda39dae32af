"""The demo's page `/demo/shop` (and `/demo/shop.json`): the shop as Nerve's commerce data has
it now — each product's stock per location against its minimum (Nerve's catalog), the latest
orders with the statuses Shopify's webhooks told Nerve (Nerve's orders), the carts, and the
connector's dead letters. Read from the demo database through the capabilities' services.
"""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter
from sqlalchemy import Engine
from starlette.responses import HTMLResponse, JSONResponse

from nerve.catalog import service as catalog
from nerve.connectors import deliveries
from nerve.demo.back_office import BackOffice
from nerve.demo.commerce_feed import figures
from nerve.demo.mail_pages import NAVIGATION, page
from nerve.demo.simulator import Simulator
from nerve.demo.stock import LOCATIONS
from nerve.orders import service as orders

PATH = "/demo/shop"


def shop_router(
    engine: Engine, workspace_id: str, simulator: Simulator, back_office: BackOffice
) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get(PATH)
    def shop() -> HTMLResponse:
        return page("Shop", _html(_facts(engine, workspace_id, simulator, back_office)),
                    refresh=True)  # fmt: skip

    @router.get(f"{PATH}.json")
    def shop_json() -> JSONResponse:
        return JSONResponse(_facts(engine, workspace_id, simulator, back_office))

    return router


def _facts(
    engine: Engine, workspace_id: str, simulator: Simulator, back_office: BackOffice
) -> dict[str, Any]:
    with engine.connect() as conn:
        products = catalog.products_page(conn, workspace_id, None, 200)
        found = [orders.find_or_none(conn, workspace_id, order_id)
                 for order_id in back_office.recent_orders()]  # fmt: skip
        dead = deliveries.dead_letters(conn, workspace_id)
    now = figures(simulator, back_office)
    return {
        "stock": [_stock(product) for product in products],
        "orders": [_order(order) for order in found if order is not None],
        "carts": vars(now.carts),
        "webhooks": now.orders.outcomes,
        "dead_letters": [{"id": d.id, "topic": d.topic, "reason": d.reason} for d in dead],
    }


def _stock(product: dict[str, Any]) -> dict[str, Any]:
    levels = {row["location"]: row for row in product["inventory"]}
    warehouse = levels.get("warehouse", {})
    return {
        "sku": product["sku"], "name": product["name"], "available": product["available"],
        "minimum": warehouse.get("minimum"),
        "low": warehouse.get("minimum") is not None
        and warehouse.get("available", 0) < warehouse["minimum"],
        "locations": {loc: levels[loc]["available"] for loc in LOCATIONS if loc in levels},
        "supplier": warehouse.get("supplier"),
    }  # fmt: skip


def _order(order: dict[str, Any]) -> dict[str, Any]:
    return {
        "order_id": order["order_id"], "status": order.get("status"),
        "total": str(order.get("total")), "currency": order.get("currency"),
        "sources": order.get("sources"),
        "history": [{"status": s["status"], "at": str(s["at"]), "detail": s.get("detail")}
                    for s in order.get("statuses", [])],
    }  # fmt: skip


def _cells(levels: dict[str, int]) -> str:
    return "".join(f"<td>{levels.get(location, '-')}</td>" for location in LOCATIONS)


def _html(facts: dict[str, Any]) -> str:
    carts = facts["carts"]
    intro = NAVIGATION + (
        "<h1>The shop in Nerve's commerce data</h1><p class='muted'>Stock from Nerve's catalog"
        " (GET /api/v1/products), orders as Shopify's webhooks told Nerve (GET"
        " /api/v1/orders/{id}), carts through the cart API. Refreshes every five seconds;"
        f" <a href='{PATH}.json'>as JSON</a>.</p>"
        f"<p>Carts: {carts['opened']} opened or found · {carts['merged']} merged on sign-in ·"
        f" {carts['moved']} used on two devices or more · {carts['staff_views']} looked up at"
        f" the store tablet · {carts['resumed']} restored from a mail's resume link.</p>"
    )
    head = "".join(f"<th>{html.escape(loc)}</th>" for loc in LOCATIONS)
    rows = "".join(
        f"<tr><td>{html.escape(s['name'])}<br><span class='muted'>{html.escape(s['sku'])}</span>"
        f"</td>{_cells(s['locations'])}"
        f"<td>{s['minimum'] if s['minimum'] is not None else '-'}</td>"
        f"<td>{'<b>below minimum</b>' if s['low'] else ''}"
        f"{' · sold out' if s['available'] == 0 else ''}</td></tr>"
        for s in facts["stock"]
    )
    stock = (f"<h2>Stock</h2><table><tr><th>Product</th>{head}<th>Minimum</th><th></th></tr>"
             f"{rows}</table>")  # fmt: skip
    order_rows = "".join(
        f"<tr><td>{html.escape(o['order_id'])}</td><td><b>{html.escape(str(o['status']))}</b>"
        f"</td><td>€{html.escape(o['total'])}</td><td class='muted'>"
        f"{html.escape(' → '.join(h['status'] for h in o['history']))}</td></tr>"
        for o in facts["orders"]
    )
    shown = (f"<h2>Latest orders</h2><table><tr><th>Order</th><th>Status</th><th>Total</th>"
             f"<th>Status history</th></tr>{order_rows}</table>") if order_rows else (
             "<h2>Latest orders</h2><p>None yet in this run.</p>")  # fmt: skip
    outcomes = ", ".join(f"{n} {k}" for k, n in sorted(facts["webhooks"].items())) or "none yet"
    dead = "".join(f"<li>{html.escape(d['topic'])}: {html.escape(d['reason'])}</li>"
                   for d in facts["dead_letters"])  # fmt: skip
    letters = f"<ul>{dead}</ul>" if dead else "<p>No dead letters.</p>"
    return (
        f"{intro}{stock}{shown}<h2>Shopify webhooks</h2><p>Nerve's answers: {outcomes}.</p>"
        f"{letters}"
    )
