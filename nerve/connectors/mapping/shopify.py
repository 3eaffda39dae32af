"""Shopify's webhook topics (REST payloads, API version 2024-01 and later) mapped onto Nerve."""

from __future__ import annotations

from typing import Any

from nerve.connectors.mapping.fields import identifier, moment, text
from nerve.connectors.mapping.shop import Customer, Shop


def customer_of(document: dict[str, Any]) -> Customer:
    return Customer(
        customer_id=identifier(document, "id") if document.get("id") is not None else None,
        email=text(document, "email"), phone=text(document, "phone"),
        first_name=text(document, "first_name"), last_name=text(document, "last_name"),
    )  # fmt: skip


def customers_create(shop: Shop, document: dict[str, Any]) -> None:
    identifier(document, "id")
    shop.identify(customer_of(document), moment(document, "created_at"))


TOPICS: dict[str, Any] = {
    "customers/create": customers_create,
    "customers/update": customers_create,
}
