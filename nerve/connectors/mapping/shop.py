"""What a mapping does with the facts it read, the same for every platform: who the person is,
Nerve's own events about them, and the calls into orders, carts and the catalog — all in the
delivery's transaction, from the connector's own source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from nerve.connectors.service import ConnectorInfo
from nerve.events import internal
from nerve.events.internal import Person
from nerve.identity.extract import normalize_email


@dataclass(frozen=True)
class Customer:
    """A shop's customer as a delivery names them; `customer_id` is the shop's, when the
    customer has an account (a guest checkout has only an email)."""

    customer_id: str | None = None
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None


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
            from nerve.connectors.mapping.fields import MappingError

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

    def event(self, person: Person, name: str, properties: dict[str, Any], at: datetime) -> None:
        internal.record(self.conn, self.workspace_id, self.source, person, name, properties, at,
                        self._message_id(name))  # fmt: skip

    def _message_id(self, what: str) -> str:
        # The delivery's own id: a replay of the same delivery records nothing twice.
        return f"{self.connector.id}-{self.delivery_id}-{what}"[:255]
