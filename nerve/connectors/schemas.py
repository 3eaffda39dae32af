"""Request and response shapes of the shop webhooks and `/api/v1/connectors`. A connector's
signing secret is write-only: no answer shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

from nerve.connectors.service import NAME


class NewConnector(BaseModel):
    platform: Literal["shopify", "woocommerce", "shopware"]
    name: str = Field(
        pattern=f"^{NAME.pattern}$",
        description="Also the name of the source its events come from",
        examples=["shopify-main"],
    )
    currency: str | None = Field(
        default=None, pattern=r"^[A-Za-z]{3}$",
        description="The shop's currency (ISO 4217), for products whose payload leaves it out "
        "(Shopify, WooCommerce)",
    )  # fmt: skip
    secret: SecretStr = Field(
        min_length=1, max_length=4096,
        description="The shop's webhook signing secret (Shopify: the app's client secret; "
        "WooCommerce: the webhook's secret; Shopware: the app secret). Stored encrypted, "
        "never shown again",
    )  # fmt: skip


class ShopConnector(BaseModel):
    id: str
    name: str
    platform: str
    source_id: str = Field(description="The source its events come from")
    webhook_url: str = Field(description="Where the shop posts its webhooks")
    currency: str | None = Field(description="The shop's currency for products without one")
    created_at: datetime


class ConnectorList(BaseModel):
    data: list[ShopConnector]


class WebhookReceipt(BaseModel):
    success: bool = True
    outcome: Literal["applied", "dead_lettered", "duplicate", "ping"] = Field(
        description="applied: mapped onto orders, carts, people or the catalog; "
        "dead_lettered: kept with its reason in the connector dead-letter list; duplicate: "
        "a retry of a delivery already taken, not applied again; ping: WooCommerce's check of "
        "a new webhook, nothing stored"
    )
    delivery_id: int | None = Field(description="The stored delivery (null for a ping)")


class ConnectorDeadLetter(BaseModel):
    id: int
    connector: str
    platform: str
    topic: str
    reason: str = Field(description="Why the delivery could not be mapped")
    attempts: int = Field(description="Deliveries and replays of it so far")
    received_at: datetime
    body: str = Field(description="The body as the shop sent it (kept until applied or "
                      "erased with the person it names)")  # fmt: skip


class ConnectorDeadLetterList(BaseModel):
    data: list[ConnectorDeadLetter]


class ConnectorReplay(BaseModel):
    delivery_id: int
    outcome: Literal["applied", "dead_lettered"]
    reason: str | None = Field(description="Why it is still dead-lettered; null once applied")


class ExportedDelivery(BaseModel):
    """A shop webhook that named the person and was kept (dead-lettered), with its body."""

    id: int
    connector: str
    topic: str
    status: str
    reason: str | None
    received_at: datetime
    body: object = Field(description="The delivery as the shop sent it")
