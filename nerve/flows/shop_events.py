"""Facts about the shop rather than a person (a price changed, stock ran low) that flows
trigger on: their capability records them here, in the transaction of the change (an outbox),
and the flow worker routes each to the flows it triggers, once.

The table belongs to flows, not to the capability that writes it: flows may not import another
capability's tables, and any capability (catalog today) can record through `record`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert

from nerve.db.base import table
from nerve.flows.models import ShopEvent

# Trigger type -> the event names flows may trigger on (checked when a flow is published).
SHOP_EVENTS: dict[str, frozenset[str]] = {
    "catalog": frozenset(
        {
            "product_published",
            "price_changed",
            "stock_below_minimum",
            "out_of_stock",
            "back_in_stock",
            "collection_published",
            "product_incomplete",
        }
    ),
}


def record(
    conn: Connection, workspace_id: str, kind: str, events: Sequence[tuple[str, dict[str, Any]]]
) -> None:
    """Store shop events `(name, properties)` of trigger type `kind` in the caller's
    transaction: they exist exactly when the change that caused them commits."""
    known = SHOP_EVENTS[kind]
    rows = []
    for name, properties in events:
        if name not in known:
            raise ValueError(f"{name!r} is not a {kind} event")
        rows.append(
            {"workspace_id": workspace_id, "kind": kind, "name": name, "properties": properties}
        )
    if rows:
        conn.execute(insert(table(ShopEvent)), rows)
