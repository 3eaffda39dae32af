"""Training's input read from the other capabilities (through their read functions): order
lines, cart adds and views of the window, each by person (the root of the merge tree, so a
phone's views and a laptop's orders are one person's)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import Connection

from nerve.catalog import service as catalog
from nerve.events import product_events
from nerve.identity import service as identity
from nerve.orders import purchases
from nerve.recommendations.interactions import Interactions

# What training looks back on: a year of orders (yearly rhythms), three months of browsing.
ORDERS_DAYS = 365
EVENTS_DAYS = 90
VIEWED, ADDED = ("Product Viewed", "Product Clicked"), ("Product Added",)
_BATCH = 5000  # profile ids resolved per query
T = TypeVar("T")


def sku_of(properties: dict[str, Any]) -> str | None:
    """The sku a product event is about: `sku`, else `product_id` (a shop whose skus are its
    product ids); the catalog decides later whether it sells it."""
    for name in ("sku", "product_id"):
        value = properties.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)[:255]
    return None


def _batches(rows: Iterable[T]) -> Iterator[list[T]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, _BATCH)):
        yield batch


def _people(conn: Connection, profile_ids: Iterable[str]) -> dict[str, str]:
    return identity.people_of(conn, set(profile_ids))


def interactions(conn: Connection, workspace_id: str, now: datetime) -> Interactions:
    data = Interactions()
    lines = purchases.lines_since(conn, workspace_id, now - timedelta(days=ORDERS_DAYS))
    for batch in _batches(lines):
        people = _people(conn, (row[0] for row in batch))
        for profile_id, order_ref, placed_at, sku in batch:
            if profile_id in people:
                age = (now - placed_at).total_seconds() / 86400
                data.add_purchase(people[profile_id], order_ref, sku, age)
    acts = product_events.since(conn, workspace_id, (*VIEWED, *ADDED),
                                now - timedelta(days=EVENTS_DAYS))  # fmt: skip
    for events in _batches(acts):
        people = _people(conn, (row[0] for row in events))
        for profile_id, name, properties in events:
            viewed = sku_of(properties)
            if viewed is None or profile_id not in people:
                continue
            if name in ADDED:
                data.add_cart(people[profile_id], viewed)
            else:
                data.add_view(people[profile_id], viewed)
    return data


def categories(conn: Connection, workspace_id: str) -> dict[str, str | None]:
    return catalog.categories(conn, workspace_id)
