"""What segment conditions read about a set of people, loaded together: the person views
(traits, computed attributes, interests), the events the definitions count, consent, the open
cart and the orders — a few queries for a whole batch or build chunk, each only when some
definition being evaluated reads it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from nerve.carts import owners as cart_owners
from nerve.carts import store as cart_store
from nerve.catalog import service as catalog
from nerve.consent import service as consent
from nerve.errors import NotFound
from nerve.events import service as events
from nerve.identity import service as identity
from nerve.identity.rules import MergeRules
from nerve.orders import service as orders
from nerve.profiles.schemas import Person
from nerve.profiles.view import People, traits_of_people
from nerve.segments.definition import EventCondition, Inputs, OrdersCondition, leaves, window


@dataclass(frozen=True)
class Cart:
    value: Decimal | None
    skus: frozenset[str]
    categories: frozenset[str]


@dataclass
class PersonFacts:
    view: Person | None = None  # read only when a definition reads computed or interests
    traits: dict[str, Any] = field(default_factory=dict)  # as Person.traits has them
    identifiers: list[tuple[str, str]] = field(default_factory=list)
    events: list[tuple[str, datetime, dict[str, Any]]] = field(default_factory=list)
    consents: set[tuple[str, str]] = field(default_factory=set)  # granted (channel, topic)
    cart: Cart | None = None
    orders: list[tuple[datetime, Decimal | None]] = field(default_factory=list)


def needs(definitions: Sequence[Any]) -> tuple[Inputs, list[str], timedelta | None, bool]:
    """(union of inputs, event names counted, how far back events matter as a window length —
    None: all of them, whether people's whole views are needed) of parsed definitions."""
    from nerve.segments.definition import inputs

    union = Inputs()
    longest: timedelta | None = timedelta(0)
    for definition in definitions:
        inputs(definition.where, union)
        for leaf in leaves(definition.where):
            if isinstance(leaf, EventCondition) and longest is not None:
                span = window(leaf.within)
                longest = None if span is None else max(longest, span)
    view = bool(union.computed or union.interests)
    return union, sorted(union.events), longest, view


def load(
    conn: Connection,
    workspace_id: str,
    members: Mapping[str, Sequence[str]],
    definitions: Sequence[Any],
    rules: MergeRules,
    now: datetime,
) -> dict[str, PersonFacts]:
    """Facts of each person (person id → every profile id of theirs) for these definitions."""
    union, names, longest, view = needs(definitions)
    facts = {person: PersonFacts() for person in members}
    profile_ids = sorted({p for ids in members.values() for p in ids})
    person_of = {p: person for person, ids in members.items() for p in ids}
    if not facts:
        return facts
    if view:
        people = People(conn, workspace_id, members, rules)
        for person in members:
            found = facts[person].view = people.get(person)
            facts[person].traits = found.traits
    elif union.traits:
        # Traits alone are one query; the whole view is five and a model per person (half a
        # build's time over people when a segment tests only a trait).
        for person, traits in traits_of_people(conn, members, rules).items():
            facts[person].traits = traits
    if union.consent or union.cart:
        held = identity.identifiers_by_profile(conn, profile_ids)
        for profile, pairs in held.items():
            facts[person_of[profile]].identifiers.extend(pairs)
    if names:
        since = None if longest is None else now - longest
        for profile, name, at, properties in events.named_of_profiles(
            conn, profile_ids, names, since
        ):
            facts[person_of[profile]].events.append((name, at, properties))
    if union.consent:
        _consents(conn, workspace_id, facts)
    if union.cart:
        for person_facts in facts.values():
            person_facts.cart = _cart(conn, workspace_id, person_facts.identifiers)
    if union.orders or any(_reads_orders(d) for d in definitions):
        for order in orders.orders_of(conn, profile_ids):
            total = order["total"]
            facts[person_of[order["profile_id"]]].orders.append(
                (order["placed_at"], None if total is None else Decimal(str(total)))
            )
    return facts


def _reads_orders(definition: Any) -> bool:
    return any(isinstance(leaf, OrdersCondition) for leaf in leaves(definition.where))


def _consents(conn: Connection, workspace_id: str, facts: dict[str, PersonFacts]) -> None:
    addresses: dict[str, dict[str, list[str]]] = {"email": {}, "sms": {}, "push": {}}
    for person, found in facts.items():
        for kind, value in found.identifiers:
            if kind == "email":
                addresses["email"].setdefault(value, []).append(person)
            elif kind == "phone":
                addresses["sms"].setdefault(value, []).append(person)
            elif kind in ("user_id", "anonymous_id"):
                address = consent.push_address(kind, value)
                addresses["push"].setdefault(address, []).append(person)
    for channel, holders in addresses.items():
        if not holders:
            continue
        for (address, topic), status in consent.statuses(
            conn, workspace_id, channel, sorted(holders)
        ).items():
            if status == "subscribed":
                for person in holders.get(address, []):
                    facts[person].consents.add((channel, topic))


def _cart(conn: Connection, workspace_id: str, pairs: list[tuple[str, str]]) -> Cart | None:
    if not pairs:
        return None
    cart = cart_owners.open_cart(conn, workspace_id, sorted(set(pairs)))
    if cart is None:
        return None
    lines = cart_store.lines(conn, cart.id)
    if not lines:
        return None
    priced = all(line.price is not None for line in lines)
    value = sum((line.price * line.quantity for line in lines), Decimal(0)) if priced else None
    categories = set()
    for line in lines:
        with suppress(NotFound):
            category = catalog.product(conn, workspace_id, line.sku).get("category")
            if category:
                categories.add(str(category))
    return Cart(value, frozenset(line.sku for line in lines), frozenset(categories))
