"""Shopware 6's app-system webhooks (`data.event`, `data.payload`) mapped onto Nerve. Amounts
are JSON numbers there, read as exact decimals."""

from __future__ import annotations

from typing import Any

from nerve.connectors.mapping.fields import identifier, moment, required, text
from nerve.connectors.mapping.shop import Customer, Shop


def customer_of(document: dict[str, Any]) -> Customer:
    return Customer(
        customer_id=text(document, "customerId") or text(document, "id"),
        email=text(document, "email"), phone=text(document, "phoneNumber"),
        first_name=text(document, "firstName"), last_name=text(document, "lastName"),
    )  # fmt: skip


def customer_registered(shop: Shop, document: dict[str, Any]) -> None:
    customer = required(document, "data", "payload", "customer")
    identifier(customer, "id")
    shop.identify(customer_of(customer), moment(customer, "createdAt"))


TOPICS: dict[str, Any] = {
    "checkout.customer.register": customer_registered,
}
