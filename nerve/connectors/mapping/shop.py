"""What a mapping does with the facts it read, the same for every platform: who the person is,
Nerve's own events about them, and the calls into orders, carts and the catalog — all in the
delivery's transaction, from the connector's own source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from nerve.carts import service as carts
from nerve.carts.schemas import CartLineIn
from nerve.catalog import service as catalog
from nerve.catalog.schemas import ProductIn
from nerve.connectors import inventory_items
from nerve.connectors.mapping.fields import MappingError
from nerve.connectors.service import ConnectorInfo
from nerve.errors import NotFound
from nerve.events import internal
from nerve.events.internal import Person
from nerve.identity.extract import normalize_email
from nerve.orders import service as orders
from nerve.orders.schemas import OrderFacts


@dataclass(frozen=True)
class Customer:
    """A shop's customer as a delivery names them; `customer_id` is the shop's, when the
    customer has an account (a guest checkout has only an email)."""

    customer_id: str | None = None
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None


# What a catalog import may set that a shop's product payload does not carry.
_KEPT = ("cost", "usage_days", "collections", "category", "image_alt", "gtin", "attributes",
         "brand", "url")  # fmt: skip


class Shop:
    def __init__(self, conn: Connection, connector: ConnectorInfo, delivery_id: int) -> None:
        self.conn = conn
        self.connector = connector
        self.workspace_id = connector.workspace_id
        self.delivery_id = delivery_id

    @property
    def source(self) -> str:
        """The connector's own source: every event it records comes from there."""
        return self.connector.name

    def person(self, customer: Customer, fallback: str | None = None) -> Person:
        """The person a delivery is about: the shop's customer id as a device-like id of the
        connector (`shopify-main:customer:42`), and the email and phone identity links by —
        so the head's profile of the same email is the same person. A guest is named by
        `fallback` (the checkout's or order's id) and their email."""
        traits: dict[str, Any] = {}
        if email := normalize_email(customer.email):
            traits["email"] = email
        if customer.phone:
            traits["phone"] = customer.phone
        if customer.customer_id:
            anonymous_id = f"{self.source}:customer:{customer.customer_id}"
        elif email:
            anonymous_id = f"{self.source}:email:{email}"
        elif fallback:
            anonymous_id = f"{self.source}:{fallback}"
        else:
            raise MappingError("the payload names no customer: no id, email or phone")
        return Person(anonymous_id=anonymous_id[:255], traits=traits)

    def identify(self, customer: Customer, at: datetime) -> Person:
        """A new or changed customer: an identify with their email, phone and name."""
        person = self.person(customer)
        traits = dict(person.traits)
        if customer.first_name:
            traits["first_name"] = customer.first_name
        if customer.last_name:
            traits["last_name"] = customer.last_name
        if customer.first_name or customer.last_name:
            traits["name"] = " ".join(n for n in (customer.first_name, customer.last_name) if n)
        named = Person(anonymous_id=person.anonymous_id, traits=traits)
        internal.identify(self.conn, self.workspace_id, self.source, named, at,
                          self._message_id("identify"))  # fmt: skip
        return named

    def event(
        self, person: Person, name: str, properties: dict[str, Any], at: datetime,
        once_per: str | None = None,
    ) -> None:  # fmt: skip
        """Nerve's own event; `once_per` (a checkout's token) keeps it to one across the
        deliveries that repeat it (checkouts/update after checkouts/create)."""
        message_id = f"{self.connector.id}-{once_per}-{name}" if once_per else None
        internal.record(self.conn, self.workspace_id, self.source, person, name, properties, at,
                        message_id[:255] if message_id else self._message_id(name))  # fmt: skip

    def order(self, facts: dict[str, Any]) -> None:
        """What the delivery says of an order; orders merges it with what heads reported."""
        try:
            checked = OrderFacts.model_validate(facts)
        except ValueError as exc:
            raise MappingError(f"the order cannot be recorded: {exc}") from None
        orders.record_order(self.conn, self.workspace_id, checked, source=self.source)

    def status(
        self, order_id: str, status: str, at: datetime, detail: dict[str, Any] | None = None
    ) -> None:
        """A status at its time; orders keeps the history in time order, so deliveries that
        arrive out of order (Shopify promises no order) still end in the right state."""
        kept = {k: v for k, v in (detail or {}).items() if v not in (None, "")}
        orders.add_status(self.conn, self.workspace_id, order_id, status, at,
                          source=self.source, detail=kept or None)  # fmt: skip

    def known_order(self, order_id: str) -> dict[str, Any] | None:
        return orders.find_or_none(self.conn, self.workspace_id, order_id)

    def checkout(
        self, person: Person, external_id: str, lines: list[dict[str, Any]],
        currency: str | None, at: datetime,
    ) -> None:  # fmt: skip
        """The shop's checkout as the person's server-side cart (its lines replace the cart's)."""
        try:
            checked = [CartLineIn.model_validate(line) for line in lines]
        except ValueError as exc:
            raise MappingError(f"a checkout line cannot be read: {exc}") from None
        carts.sync_from_shop(self.conn, self.workspace_id, person, external_id, checked,
                             currency, at)  # fmt: skip

    def products(self, products: list[dict[str, Any]]) -> None:
        """Upsert the variants by sku. Fields the shop's payload does not carry (cost, usage
        period, collections, a catalog import's category) keep what the catalog has."""
        checked = []
        for given in products:
            stored = self._stored_product(given["sku"])
            merged = {k: v for k, v in stored.items() if k in _KEPT and v not in (None, [], {})}
            merged |= {k: v for k, v in given.items() if v is not None}
            if "currency" not in merged:
                currency = stored.get("currency") or self.connector.currency
                if currency is None:
                    raise MappingError(
                        f"the payload has no currency for sku {given['sku']!r}: add the "
                        "connector again with --currency (the shop's currency)"
                    )
                merged["currency"] = currency
            try:
                checked.append(ProductIn.model_validate(merged))
            except ValueError as exc:
                raise MappingError(f"sku {given['sku']!r} cannot be stored: {exc}") from None
        catalog.upsert_products(self.conn, self.workspace_id, checked)

    def remember_inventory_items(self, items: dict[str, str]) -> None:
        inventory_items.remember(self.conn, self.connector, items)

    def inventory(self, inventory_item_id: str, location: str, available: int) -> None:
        sku = inventory_items.sku_of(self.conn, self.connector, inventory_item_id)
        if sku is None:
            raise MappingError(
                f"inventory item {inventory_item_id} is not known yet: the webhook of its "
                "product (products/create or products/update) has not arrived; replay this "
                "delivery after it"
            )
        catalog.set_inventory(self.conn, self.workspace_id, sku, location, on_hand=available)

    def _stored_product(self, sku: str) -> dict[str, Any]:
        try:
            return catalog.product(self.conn, self.workspace_id, sku)
        except NotFound:
            return {}

    def _message_id(self, what: str) -> str:
        # The delivery's own id: a replay of the same delivery records nothing twice.
        return f"{self.connector.id}-{self.delivery_id}-{what}"[:255]
