"""Shopware 6's app-system webhooks (`data.event`, `data.payload`) mapped onto Nerve: a
customer's registration, a placed order and its state changes (`state_enter.…`). Amounts are
JSON numbers there, read as exact decimals. Shopware's `product.written` names only the ids
written, not the product, so it has no mapping: such deliveries are dead-lettered saying so."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from nerve.connectors.mapping.fields import (
    MappingError,
    amount,
    currency,
    identifier,
    listed,
    moment,
    optional,
    quantity,
    required,
    text,
)
from nerve.connectors.mapping.shop import Customer, Shop

# state_enter.<machine>.state.<state> → the order status it means.
STATE_STATUSES = {
    "state_enter.order_transaction.state.paid": "paid",
    "state_enter.order_transaction.state.failed": "payment_failed",
    "state_enter.order_transaction.state.refunded": "refunded",
    "state_enter.order_transaction.state.refunded_partially": "partly_refunded",
    "state_enter.order.state.cancelled": "cancelled",
    "state_enter.order_delivery.state.shipped": "shipped",
}


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


def _order_id(order: dict[str, Any]) -> str:
    # The order number is what the storefront (and so a head's Order Completed) shows.
    return text(order, "orderNumber") or identifier(order, "id")


def order_placed(shop: Shop, document: dict[str, Any]) -> None:
    order = required(document, "data", "payload", "order")
    order_id = _order_id(order)
    buyer = optional(order, "orderCustomer") or {}
    person = shop.person(customer_of(buyer), fallback=f"order:{order_id}")
    code = text(order, "currency", "isoCode") or text(order, "currencyIsoCode")
    if code is None:
        raise MappingError("currency.isoCode is missing (give the app read access to currency)")
    lines = [{
        "sku": text(line, "payload", "productNumber") or text(line, "referencedId"),
        "product_id": text(line, "productId"), "name": text(line, "label"),
        "quantity": quantity(line, "quantity"), "price": amount(line, "unitPrice"),
    } for line in listed(order, "lineItems")
        if text(line, "type") in (None, "product")]  # fmt: skip
    shop.order({
        "order_id": order_id, "anonymous_id": person.anonymous_id,
        "email": person.traits.get("email"), "currency": currency({"c": code}, "c"),
        "total": amount(order, "amountTotal"),
        "subtotal": amount(order, "positionPrice", default=Decimal(0)),
        "shipping": amount(order, "shippingTotal", default=Decimal(0)),
        "lines": lines, "placed_at": moment(order, "orderDateTime"),
    })  # fmt: skip


def state_entered(shop: Shop, document: dict[str, Any]) -> None:
    event = required(document, "data", "event")
    order = required(document, "data", "payload", "order")
    at = moment(document, "timestamp") if optional(document, "timestamp") else moment(
        order, "updatedAt")  # fmt: skip
    shop.status(_order_id(order), STATE_STATUSES[event], at)


TOPICS: dict[str, Any] = {
    "checkout.customer.register": customer_registered,
    "checkout.order.placed": order_placed,
    **{event: state_entered for event in STATE_STATUSES},
}
