"""Shopify's inventory items and their skus, learnt from product webhooks: a stock webhook
(inventory_levels/update) names only the item."""

from __future__ import annotations

from sqlalchemy import Connection, select

from nerve.connectors.models import InventoryItem
from nerve.connectors.service import ConnectorInfo
from nerve.db.dialect import dialect_of


def remember(conn: Connection, connector: ConnectorInfo, items: dict[str, str]) -> None:
    """`items`: inventory item id → sku; a known item takes its new sku."""
    if not items:
        return
    statement = dialect_of(conn).upsert(
        InventoryItem.__table__, ["connector_id", "inventory_item_id"], ["sku"]
    )
    conn.execute(statement, [
        {"connector_id": connector.id, "inventory_item_id": item_id[:64],
         "workspace_id": connector.workspace_id, "sku": sku}
        for item_id, sku in items.items()
    ])  # fmt: skip


def sku_of(conn: Connection, connector: ConnectorInfo, inventory_item_id: str) -> str | None:
    return conn.scalar(
        select(InventoryItem.sku).where(
            InventoryItem.connector_id == connector.id,
            InventoryItem.inventory_item_id == inventory_item_id,
        )
    )
