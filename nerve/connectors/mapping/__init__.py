"""Each platform's topics mapped onto Nerve: people, orders and their statuses, carts, the
catalog. A topic without a mapping, or a payload missing what its mapping needs, raises
`MappingError`, and the delivery goes to the connector dead-letter list with that reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from nerve.connectors.mapping import shopify, shopware, woocommerce
from nerve.connectors.mapping.fields import MappingError
from nerve.connectors.mapping.shop import Shop
from nerve.connectors.service import ConnectorInfo

Handler = Callable[[Shop, Any], None]

TOPICS: dict[str, dict[str, Handler]] = {
    "shopify": shopify.TOPICS,
    "woocommerce": woocommerce.TOPICS,
    "shopware": shopware.TOPICS,
}


def apply(
    conn: Connection, connector: ConnectorInfo, topic: str, document: Any, delivery_id: int
) -> None:
    handler = TOPICS[connector.platform].get(topic)
    if handler is None:
        raise MappingError(f"no mapping for the {connector.platform} topic {topic!r}")
    if not isinstance(document, dict):
        raise MappingError("the body is not a JSON object")
    handler(Shop(conn, connector, delivery_id), document)


__all__ = ["TOPICS", "MappingError", "apply"]
