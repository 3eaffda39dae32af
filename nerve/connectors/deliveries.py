"""A verified delivery: stored once (a retry is answered without applying it again), mapped
onto orders, carts, people and the catalog in the same transaction, or — when it cannot be
mapped — kept in the connector dead-letter list with its reason, to be replayed after a fix.

Storage and mapping share one transaction, the mapping inside a savepoint: a delivery is
either applied whole or dead-lettered whole, never half. Only a dead letter keeps its body (to
replay it); an applied delivery keeps its id and topic, for dedupe, and nothing personal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import SQLAlchemyError

from nerve.connectors import mapping
from nerve.connectors import people as delivery_people
from nerve.connectors.models import Connector, ConnectorDelivery
from nerve.connectors.service import ConnectorInfo
from nerve.db.base import utcnow
from nerve.db.dialect import dialect_of
from nerve.errors import Conflict, NotFound

Outcome = Literal["applied", "dead_lettered", "duplicate"]
_MAX_REASON = 2000


@dataclass(frozen=True)
class Received:
    delivery_id: int
    outcome: Outcome
    reason: str | None = None


@dataclass(frozen=True)
class DeadLetter:
    id: int
    connector: str
    platform: str
    topic: str
    reason: str
    attempts: int
    received_at: datetime
    body: str


def receive(
    conn: Connection, connector: ConnectorInfo, topic: str, delivery_key: str, body: bytes,
    at: datetime,
) -> Received:  # fmt: skip
    """Store and apply a verified delivery once; a repeat of `delivery_key` is a duplicate."""
    table = ConnectorDelivery.__table__
    inserted = conn.execute(
        dialect_of(conn)
        .insert_ignoring_duplicates(table, ["connector_id", "delivery_key"])
        .values(
            workspace_id=connector.workspace_id, connector_id=connector.id,
            delivery_key=delivery_key, topic=topic, status="applied", attempts=1,
            received_at=at,
        )
        .returning(ConnectorDelivery.id)
    ).scalar()  # fmt: skip
    if inserted is None:
        found = conn.execute(
            update(ConnectorDelivery)
            .where(ConnectorDelivery.connector_id == connector.id,
                   ConnectorDelivery.delivery_key == delivery_key)
            .values(attempts=ConnectorDelivery.attempts + 1)
            .returning(ConnectorDelivery.id)
        ).scalar_one()  # fmt: skip
        return Received(found, "duplicate")
    return _apply(conn, connector, inserted, topic, body.decode("utf-8", "replace"), at)


def dead_letters(conn: Connection, workspace_id: str, limit: int = 100) -> list[DeadLetter]:
    """The workspace's deliveries that could not be mapped, oldest first."""
    rows = conn.execute(
        select(
            ConnectorDelivery.id, Connector.name, Connector.platform, ConnectorDelivery.topic,
            ConnectorDelivery.reason, ConnectorDelivery.attempts, ConnectorDelivery.received_at,
            ConnectorDelivery.body,
        )
        .join(Connector, Connector.id == ConnectorDelivery.connector_id)
        .where(ConnectorDelivery.workspace_id == workspace_id, ConnectorDelivery.status == "dead")
        .order_by(ConnectorDelivery.id)
        .limit(limit)
    )  # fmt: skip
    return [DeadLetter(*row) for row in rows]  # type: ignore[arg-type]


def replay(conn: Connection, workspace_id: str, delivery_id: int) -> Received:
    """Map a dead-lettered delivery again (after a mapping fix): applied, or dead-lettered
    with the new reason."""
    row = conn.execute(
        dialect_of(conn).for_update(
            select(ConnectorDelivery).where(
                ConnectorDelivery.id == delivery_id,
                ConnectorDelivery.workspace_id == workspace_id,
            )
        )
    ).first()
    if row is None:
        raise NotFound(f"no connector delivery {delivery_id}")
    if row.status != "dead" or row.body is None:
        raise Conflict(f"delivery {delivery_id} is not a dead letter (it is {row.status})")
    connector = conn.execute(
        select(Connector.id, Connector.workspace_id, Connector.name, Connector.platform,
               Connector.source_id, Connector.created_at, Connector.currency)
        .where(Connector.id == row.connector_id)
    ).one()  # fmt: skip
    conn.execute(
        update(ConnectorDelivery)
        .where(ConnectorDelivery.id == delivery_id)
        .values(attempts=ConnectorDelivery.attempts + 1)
    )
    delivery_people.forget(conn, delivery_id)  # found again if it stays dead
    return _apply(conn, ConnectorInfo(*connector), delivery_id, row.topic, row.body, utcnow())


def _apply(
    conn: Connection, connector: ConnectorInfo, delivery_id: int, topic: str, body: str,
    at: datetime,
) -> Received:  # fmt: skip
    try:
        with conn.begin_nested():
            mapping.apply(conn, connector, topic, _parsed(body), delivery_id)
    except SQLAlchemyError:
        raise  # the database, not the payload: the shop retries, nothing is lost
    except Exception as exc:  # every mapping failure is dead-lettered, never lost
        reason = _reason(exc)
        conn.execute(
            update(ConnectorDelivery)
            .where(ConnectorDelivery.id == delivery_id)
            .values(status="dead", reason=reason, body=body, applied_at=None)
        )
        delivery_people.remember(conn, connector.workspace_id, delivery_id, body)
        return Received(delivery_id, "dead_lettered", reason)
    conn.execute(
        update(ConnectorDelivery)
        .where(ConnectorDelivery.id == delivery_id)
        .values(status="applied", reason=None, body=None, applied_at=at)
    )
    return Received(delivery_id, "applied")


def _parsed(body: str) -> Any:
    try:
        # Decimal: Shopware sends amounts as JSON numbers; money stays exact.
        return json.loads(body, parse_float=Decimal)
    except ValueError:
        raise mapping.MappingError("the body is not JSON") from None


def _reason(exc: Exception) -> str:
    if isinstance(exc, mapping.MappingError):
        return str(exc)[:_MAX_REASON]
    return f"{type(exc).__name__}: {exc}"[:_MAX_REASON]


def purge_erased(conn: Connection, delivery_ids: list[int]) -> None:
    """Drop the bodies of a person's dead letters (their erasure); the rows stay, so a retry
    of the same delivery is still recognised and not applied again."""
    if not delivery_ids:
        return
    conn.execute(
        update(ConnectorDelivery)
        .where(ConnectorDelivery.id.in_(delivery_ids))
        .values(status="erased", body=None, reason="erased with the person it named")
    )
    delivery_people.forget_all(conn, delivery_ids)
