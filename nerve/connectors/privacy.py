"""Personal data in shop deliveries: a dead-lettered delivery keeps its body (a customer's
email, address, order) until it is applied or its person erased; it is found by the keyed
hashes of the emails and phones it names. Applied deliveries keep no body: nothing personal."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from nerve.connectors import deliveries, people
from nerve.connectors.models import Connector, ConnectorDelivery, ConnectorDeliveryPerson
from nerve.identity.extract import normalize_email
from nerve.privacy.subject import PersonalData, Subject


def _theirs(conn: Connection, subject: Subject) -> list[int]:
    values = [e for e in map(normalize_email, subject.values("email")) if e]
    values += subject.values("phone")
    digests = people.hashes(conn, subject.workspace_id, values)
    if not digests:
        return []
    return sorted(set(conn.scalars(
        select(ConnectorDeliveryPerson.delivery_id).where(
            ConnectorDeliveryPerson.workspace_id == subject.workspace_id,
            ConnectorDeliveryPerson.hash.in_(digests),
        )
    )))  # fmt: skip


def _export(conn: Connection, subject: Subject) -> list[dict[str, Any]]:
    ids = _theirs(conn, subject)
    if not ids:
        return []
    rows = conn.execute(
        select(ConnectorDelivery.id, Connector.name.label("connector"), ConnectorDelivery.topic,
               ConnectorDelivery.status, ConnectorDelivery.reason, ConnectorDelivery.received_at,
               ConnectorDelivery.body)
        .join(Connector, Connector.id == ConnectorDelivery.connector_id)
        .where(ConnectorDelivery.id.in_(ids))
        .order_by(ConnectorDelivery.id)
    )  # fmt: skip
    return [dict(row._mapping) for row in rows]


def _erase(conn: Connection, subject: Subject) -> None:
    deliveries.purge_erased(conn, _theirs(conn, subject))


CONNECTOR_DELIVERIES = PersonalData(
    "shop_deliveries", ("connector_deliveries", "connector_delivery_people"),
    erase=_erase, export=_export,
)  # fmt: skip
