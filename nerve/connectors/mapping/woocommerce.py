"""WooCommerce's webhook topics (REST API v3 resources: order, product, customer) mapped onto
Nerve. Times are read from the `_gmt` fields (the others are in the shop's time zone)."""

from __future__ import annotations

from typing import Any

from nerve.connectors.mapping.fields import identifier, moment, text
from nerve.connectors.mapping.shop import Customer, Shop


def customer_of(document: dict[str, Any]) -> Customer:
    customer_id = document.get("id")
    return Customer(
        customer_id=identifier(document, "id") if customer_id not in (None, 0) else None,
        email=text(document, "email") or text(document, "billing", "email"),
        phone=text(document, "billing", "phone"),
        first_name=text(document, "first_name") or text(document, "billing", "first_name"),
        last_name=text(document, "last_name") or text(document, "billing", "last_name"),
    )


def customer_created(shop: Shop, document: dict[str, Any]) -> None:
    identifier(document, "id")
    shop.identify(customer_of(document), moment(document, "date_created_gmt"))


TOPICS: dict[str, Any] = {
    "customer.created": customer_created,
    "customer.updated": customer_created,
}
