"""Whose cart: an identifier to the person it resolves to in the identity graph (through
identity's service), and that person's open cart. An identifier Nerve has never seen is a
person of its own until identity links it."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from sqlalchemy import Connection, Row

from nerve.carts import store
from nerve.errors import NotFound
from nerve.events.internal import Person
from nerve.identity import service as identity

Pair = tuple[str, str]


def parse(conn: Connection, workspace_id: str, raw: str) -> Pair:
    """`TYPE:VALUE` normalised as identity stores it; InvalidInput for a malformed one or a
    type identity does not know."""
    rules = identity.get_rules(conn, workspace_id)
    kind, value = identity.parse_identifier(conn, raw, rules)
    known = (*identity.BUILT_IN_TYPES, *rules.external_id_traits)
    if kind not in known:
        with suppress(NotFound):  # 400 unless the type is in use (context.externalIds)
            identity.lookup(conn, workspace_id, kind, value, rules)
    return kind, value


def person_of(conn: Connection, workspace_id: str, pair: Pair) -> str | None:
    rules = identity.get_rules(conn, workspace_id)
    try:
        return identity.lookup(conn, workspace_id, pair[0], pair[1], rules)
    except NotFound:
        return None


def identifiers(conn: Connection, workspace_id: str, pairs: list[Pair]) -> list[Pair]:
    """Every identifier of the people these identifiers belong to, and the ones themselves."""
    found = set(pairs)
    people = {p for pair in pairs if (p := person_of(conn, workspace_id, pair)) is not None}
    for person in sorted(people):
        found.update(identity.identifiers_of(conn, identity.members(conn, person)))
    return sorted(found)


def person_and_members(conn: Connection, profile_id: str) -> tuple[str, list[str]] | None:
    return identity.person_and_members(conn, profile_id)


def identifiers_of_people(conn: Connection, profile_ids: list[str]) -> list[Pair]:
    return identity.identifiers_of(conn, profile_ids)


def open_cart(conn: Connection, workspace_id: str, pairs: list[Pair]) -> Row[Any] | None:
    """The person's open cart (the account's first when identity has not merged them yet):
    carts opened under these identifiers or any other of their holders', in one query."""
    carts = store.open_carts_of(
        conn, workspace_id, pairs, identity.identifiers_of_holders(workspace_id, pairs)
    )
    return carts[0] if carts else None


def pairs_of(conn: Connection, workspace_id: str, person: Person) -> list[Pair]:
    """The identifiers an own event's Person (a connector's customer) names, strongest first."""
    found: list[Pair] = []
    if person.user_id:
        found.append(("user_id", str(person.user_id)))
    email = person.traits.get("email")
    if isinstance(email, str) and email.strip():
        found.append(parse(conn, workspace_id, f"email:{email}"))
    if person.anonymous_id:
        found.append(("anonymous_id", str(person.anonymous_id)))
    return found


def event_person(conn: Connection, workspace_id: str, cart: Row[Any]) -> Person:
    """Who an own event about `cart` is about, as the Segment spec names a person: the user id
    or anonymous id it was opened under, else its owner's."""
    kind, value = cart.identifier_type, cart.identifier_value
    if kind == "user_id":
        return Person(user_id=value)
    if kind == "anonymous_id":
        return Person(anonymous_id=value)
    traits = {kind: value} if kind in ("email", "phone") else {}
    known = identifiers(conn, workspace_id, [(kind, value)])
    user = next((v for k, v in known if k == "user_id"), None)
    device = next((v for k, v in known if k == "anonymous_id"), None)
    if user or device:
        return Person(user_id=user, anonymous_id=None if user else device, traits=traits)
    # Opened under an address nobody tracked yet: the cart's id stands in for a device.
    return Person(anonymous_id=cart.id, traits=traits)
