"""Catalog events: what a change to a product or to stock means for the shop's flows.

Each is decided by comparing the stored row before the change with the row after it, so an
event goes exactly once per change: sending the same product or stock level again changes
nothing and emits nothing. They are recorded in the transaction of the change (the flows'
shop-event outbox), so they exist exactly when the change does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from nerve.flows import shop_events

KIND = "catalog"
# What the quality report asks of every active product (besides consistent attributes,
# which is a matter of the whole category, not of one product).
REQUIRED = ("image_url", "image_alt", "gtin", "category")
_CHECK_NAMES = {"image_url": "image", "image_alt": "image_alt", "gtin": "gtin",
                "category": "category"}  # fmt: skip

Event = tuple[str, dict[str, Any]]


def missing(row: Mapping[str, Any]) -> list[str]:
    """The quality checks a product fails: image, image_alt, gtin, category."""
    return [_CHECK_NAMES[c] for c in REQUIRED if not row.get(c)]


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _discount(before: dict[str, Any], after: dict[str, Any]) -> float | None:
    """How many percent cheaper the product got (negative: dearer), for conditions such as
    trigger.properties.discount_percent >= 20; None across currencies or without a price."""
    old, new = before["price"], after["price"]
    if old is None or new is None or old <= 0 or before["currency"] != after["currency"]:
        return None
    return float(round((old - new) * 100 / old, 2))


def product_events(
    before: dict[str, Any] | None, after: dict[str, Any], new_collections: Iterable[str]
) -> list[Event]:
    """The events of one product's change from `before` (None: it is new) to `after`;
    `new_collections` are the product's collections no active product had before."""
    sku = after["sku"]
    base = {"sku": sku, "product_id": after["product_id"], "name": after["name"]}
    events: list[Event] = []
    active = after["status"] == "active"
    was_active = before is not None and before["status"] == "active"
    if active and not was_active:
        events.append(("product_published", base | {"price": _amount(after["price"]),
                                                   "currency": after["currency"]}))  # fmt: skip
    if before is not None and (
        before["price"] != after["price"] or before["currency"] != after["currency"]
    ):
        events.append(("price_changed", base | {
            "old_price": _amount(before["price"]), "old_currency": before["currency"],
            "new_price": _amount(after["price"]), "currency": after["currency"],
            "status": after["status"], "brand": after.get("brand"),
            "discount_percent": _discount(before, after),
        }))  # fmt: skip
    if active:
        for name in new_collections:
            events.append(("collection_published", {"collection": name, "sku": sku}))
        gaps = missing(after)
        if gaps and (not was_active or before is None or missing(before) != gaps):
            events.append(("product_incomplete", base | {"missing": gaps}))
    return events


@dataclass(frozen=True)
class Stock:
    """A sku's stock at one location, as far as events care."""

    available: int
    minimum: int | None


def location_events(sku: str, location: str, before: Stock | None, after: Stock) -> list[Event]:
    """`stock_below_minimum` when the available stock at a location crosses from at least
    its minimum to below it (also when the minimum is raised above the stock)."""
    if after.minimum is None or after.available >= after.minimum:
        return []
    if before is not None and before.minimum is not None and before.available < before.minimum:
        return []  # it was below already: no news
    properties = {"sku": sku, "location": location, "minimum": after.minimum,
                  "level": after.available}  # fmt: skip
    return [("stock_below_minimum", properties)]


def sku_events(sku: str, before: int | None, after: int | None) -> list[Event]:
    """`out_of_stock` / `back_in_stock` when the sku's available stock over every location
    crosses zero. A sku without stock rows (None) is not tracked: no crossing from it."""
    if before is None or after is None:
        return []
    if before > 0 >= after:
        return [("out_of_stock", {"sku": sku, "level": after})]
    if before <= 0 < after:
        return [("back_in_stock", {"sku": sku, "level": after})]
    return []


def emit(conn: Connection, workspace_id: str, events: list[Event]) -> None:
    """Record the events in the caller's transaction (the flows' shop-event outbox)."""
    shop_events.record(conn, workspace_id, KIND, events)
