"""Who a dead-lettered delivery names: keyed hashes of the emails and phones in its body, so
a person's export and erasure find the deliveries that hold their data without Nerve keeping
a readable index of it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, delete, insert

from nerve.connectors.models import ConnectorDeliveryPerson
from nerve.identity.extract import normalize_email, normalize_phone
from nerve.privacy.suppression import identifier_hash
from nerve.workspaces import service as workspaces

_EMAIL_KEYS = ("email", "contact_email", "customer_email")
_PHONE_KEYS = ("phone", "customer_phone")
_MAX_DEPTH = 12


def hashes(conn: Connection, workspace_id: str, values: list[str]) -> list[str]:
    key = workspaces.hash_key(conn, workspace_id)
    return sorted({identifier_hash(key, value) for value in values})


def identifiers_in(document: Any) -> list[str]:
    """The normalised emails and phones (E.164: only those written with their country code,
    so no shop's region is guessed) anywhere in a delivery's body."""
    found = set()
    for key, value in _fields(document, 0):
        lowered = key.lower()
        if lowered in _EMAIL_KEYS or lowered.endswith("email"):
            if email := normalize_email(value):
                found.add(email)
        elif lowered in _PHONE_KEYS and (phone := _international(value)):
            found.add(phone)
    return sorted(found)


def _international(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip().startswith("+"):
        return None
    return normalize_phone(value, "US")  # the region is unused for a number with its country


def remember(conn: Connection, workspace_id: str, delivery_id: int, body: str) -> None:
    try:
        document = json.loads(body)
    except ValueError:
        return  # not JSON: nothing to find a person by (the body is kept as sent)
    digests = hashes(conn, workspace_id, identifiers_in(document))
    if digests:
        conn.execute(
            insert(ConnectorDeliveryPerson),
            [{"delivery_id": delivery_id, "hash": h, "workspace_id": workspace_id}
             for h in digests],
        )  # fmt: skip


def forget(conn: Connection, delivery_id: int) -> None:
    forget_all(conn, [delivery_id])


def forget_all(conn: Connection, delivery_ids: list[int]) -> None:
    conn.execute(
        delete(ConnectorDeliveryPerson).where(ConnectorDeliveryPerson.delivery_id.in_(delivery_ids))
    )


def _fields(value: Any, depth: int) -> Iterator[tuple[str, Any]]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list):
                yield from _fields(item, depth + 1)
            elif isinstance(key, str):
                yield key, item
    elif isinstance(value, list):
        for item in value:
            yield from _fields(item, depth + 1)
