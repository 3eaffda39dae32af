"""Connectors tables: the shop connectors, the deliveries they received (dedupe and the
connector dead-letter list) and the inventory-item → sku map that Shopify's stock webhooks need."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nerve.db.base import Base, BigId, UtcDateTime, created_at_column


class Connector(Base):
    """One shop posting webhooks to `/webhooks/{platform}/{source_id}`; its events come from
    the source of the same name. The signing secret is in the vault (`secrets`), never here."""

    __tablename__ = "connectors"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(128))
    platform: Mapped[str] = mapped_column(String(16))
    # The source the connector's events come from; its id is the last part of the URL.
    source_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_name: Mapped[str] = mapped_column(String(128))
    # The shop's currency, for payloads that leave it out (Shopify's and WooCommerce's products).
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    created_at: Mapped[datetime] = created_at_column()


class ConnectorDelivery(Base):
    """Each delivery a connector accepted, once (the platform's delivery id, or the body's
    hash): a retry finds its row and is answered without being applied again. `body` is kept
    only while the delivery is dead-lettered (to replay it); an applied one keeps none."""

    __tablename__ = "connector_deliveries"
    __table_args__ = (
        UniqueConstraint("connector_id", "delivery_key"),
        Index("ix_connector_deliveries_dead", "workspace_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    connector_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("connectors.id", ondelete="CASCADE")
    )
    delivery_key: Mapped[str] = mapped_column(String(128))
    topic: Mapped[str] = mapped_column(String(128))
    # applied | dead (in the dead-letter list) | erased (its person was erased)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    applied_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class ConnectorDeliveryPerson(Base):
    """Keyed hashes (the workspace's hash key) of the emails, phones and customer ids in a
    dead-lettered delivery's body: how export and erase find a person's deliveries."""

    __tablename__ = "connector_delivery_people"

    delivery_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("connector_deliveries.id", ondelete="CASCADE"), primary_key=True
    )
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32))

    __table_args__ = (Index("ix_connector_delivery_people_hash", "workspace_id", "hash"),)


class InventoryItem(Base):
    """Shopify's inventory_item_id of a variant → its sku, learnt from product webhooks:
    inventory_levels/update names only the item."""

    __tablename__ = "connector_inventory_items"

    connector_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("connectors.id", ondelete="CASCADE"), primary_key=True
    )
    inventory_item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    sku: Mapped[str] = mapped_column(String(255))
