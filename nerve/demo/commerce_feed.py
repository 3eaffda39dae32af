"""What the demo's screen says about commerce: the carts (opened, merged on sign-in, moved
between devices, looked up at the store tablet, restored from a resume link), the orders by
the statuses Shopify's webhooks told Nerve, Nerve's answers to those webhooks, and the stock
(products below their minimum, sold out, supplier deliveries)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from nerve.demo.back_office import BackOffice, OrderFigures
from nerve.demo.carts import CartFigures
from nerve.demo.catalog import by_sku
from nerve.demo.simulator import Simulator

STATUS_ORDER = ("paid", "shipped", "delivered")


@dataclass(frozen=True)
class CommerceFigures:
    carts: CartFigures
    orders: OrderFigures
    low: list[str]  # products below their warehouse minimum, by name
    sold_out: list[str]  # products with none left anywhere, by name


def figures(simulator: Simulator, back_office: BackOffice) -> CommerceFigures:
    carts = simulator.carts.figures if simulator.carts is not None else CartFigures()
    shelves = back_office.shelves
    return CommerceFigures(
        carts=CartFigures(**vars(carts)),
        orders=back_office.figures(),
        low=[_name(sku) for sku, _, _ in shelves.low()],
        sold_out=[_name(sku) for sku in shelves.sold_out()],
    )


def _name(sku: str) -> str:
    product = by_sku(sku)
    return product.name if product is not None else sku


def plural_s(count: int) -> str:
    return "" if count == 1 else "s"


def carts_part(commerce: CommerceFigures) -> Text:
    carts = commerce.carts
    part = Text.assemble((f"{carts.opened:,} cart{plural_s(carts.opened)}", "bold"))
    part.append(f" · {carts.merged:,} merged on sign-in · {carts.moved:,} moved between devices")
    if carts.staff_views:
        part.append(f" · {carts.staff_views:,} at the store tablet")
    if carts.resumed:
        part.append(f" · {carts.resumed:,} restored from a mail")
    return part


def orders_part(commerce: CommerceFigures) -> Text:
    orders = commerce.orders
    statuses = " · ".join(f"{orders.statuses.get(s, 0):,} {s}" for s in STATUS_ORDER)
    part = Text.assemble(("Shopify ", "bold"), f"{orders.orders:,} order{plural_s(orders.orders)}:"
                         f" {statuses}")  # fmt: skip
    duplicates = orders.outcomes.get("duplicate", 0)
    if duplicates:
        part.append(f" · {duplicates:,} retr{'y' if duplicates == 1 else 'ies'} stored once")
    dead = orders.outcomes.get("dead_lettered", 0)
    if dead:
        part.append(f" · {dead:,} dead letter{plural_s(dead)}", style="red")
    return part


def stock_part(commerce: CommerceFigures) -> Text:
    low, out = commerce.low, commerce.sold_out
    part = Text.assemble(("stock ", "bold"), f"{len(low)} below minimum")
    if out:
        part.append(f" · {len(out)} sold out", style="yellow")
    deliveries = commerce.orders.deliveries
    if deliveries:
        part.append(f" · {deliveries:,} supplier deliver{'y' if deliveries == 1 else 'ies'}")
    return part


def farewell_lines(commerce: CommerceFigures) -> list[str]:
    """The commerce part of the demo's report at the end."""
    carts, orders = commerce.carts, commerce.orders
    statuses = ", ".join(f"{orders.statuses.get(s, 0):,} {s}" for s in STATUS_ORDER)
    outcomes = ", ".join(f"{count:,} {name}" for name, count in sorted(orders.outcomes.items()))
    lines = [
        f"Carts (Nerve's server carts): {carts.opened:,} opened or found by the shop's backend,"
        f" {carts.merged:,} merged into the account's cart on sign-in, {carts.moved:,} used on"
        f" two devices or more, {carts.staff_views:,} looked up at the store tablet"
        f" ({carts.staff_edits:,} line{plural_s(carts.staff_edits)} changed there, audited),"
        f" {carts.resumed:,} restored from a reminder's resume link"
        " (GET /api/v1/carts?identifier=email:…).",
        f"Orders through Shopify's webhooks: {orders.orders:,} taken; statuses applied:"
        f" {statuses}; Nerve's answers: {outcomes or 'none yet'}"
        " (GET /api/v1/orders/{id}, GET /api/v1/connectors/dead-letters).",
    ]
    stock = (
        f"Stock: {orders.stock_updates:,} level{plural_s(orders.stock_updates)} written to the"
        f" catalog, {orders.deliveries:,} supplier deliver"
        f"{'y' if orders.deliveries == 1 else 'ies'};"
        f" below minimum now: {', '.join(commerce.low) or 'none'}"
    )
    if commerce.sold_out:
        stock += f"; sold out: {', '.join(commerce.sold_out)}"
    return [*lines, stock + " (GET /api/v1/products)."]
