"""One webhook request from a shop, end to end: find its connector, check its signature
against the raw body, then store and apply it once (nerve.connectors.deliveries)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import structlog

from nerve.connectors import deliveries
from nerve.connectors import service as connectors
from nerve.connectors.deliveries import Received
from nerve.connectors.signatures import (
    SIGNATURE_HEADERS,
    Platform,
    delivery_key_of,
    topic_of,
    verifies,
)
from nerve.db.base import utcnow
from nerve.errors import Unauthorized
from nerve.services import Services

log = structlog.get_logger(__name__)


def accept(
    services: Services, platform: Platform, source_id: str, headers: Mapping[str, str],
    body: bytes,
) -> Received:  # fmt: skip
    """Verify and take one delivery; 401 (`Unauthorized`) for a wrong or missing signature,
    with nothing stored."""
    with services.read() as conn:
        found = connectors.for_webhook(conn, services.vault, platform, source_id)
    header = SIGNATURE_HEADERS[platform]
    if found.secret is None:  # nothing to verify with: refused like a wrong signature
        raise Unauthorized(f"the connector's secret is gone; add it again to check {header}")
    if not verifies(platform, found.secret, body, headers):
        raise Unauthorized(f"the {header} header does not sign this body with the secret")
    document = _document(body)
    topic = topic_of(platform, headers, document)
    key = delivery_key_of(platform, headers, document, body)
    with services.write() as conn:
        received = deliveries.receive(conn, found.connector, topic, key, body, utcnow())
    if received.outcome == "dead_lettered":
        log.warning(
            "connector_delivery_dead_lettered", connector=found.connector.name, topic=topic,
            delivery_id=received.delivery_id, reason=received.reason,
        )  # fmt: skip
    return received


def _document(body: bytes) -> Any:
    """The body as JSON for its topic and id (Shopware's are inside); a body that is not JSON
    is still stored — dead-lettered with that reason."""
    try:
        return json.loads(body)
    except ValueError:
        return None
