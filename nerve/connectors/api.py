"""`POST /webhooks/{platform}/{source_id}`: where shops post their webhooks (signed, no key);
`/api/v1/connectors`: the connectors, their dead letters and replay (CONNECTORS_MANAGE)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from nerve.admin_routes import AdminRoute, read_body
from nerve.auth.api import PUBLIC, requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.connectors import deliveries, receiving, service
from nerve.connectors.schemas import (
    ConnectorDeadLetter,
    ConnectorDeadLetterList,
    ConnectorList,
    ConnectorReplay,
    NewConnector,
    ShopConnector,
    WebhookReceipt,
)
from nerve.connectors.signatures import SIGNATURE_HEADERS, Platform, is_woocommerce_ping
from nerve.db.session import Db, WriteDb
from nerve.errors import (
    Conflict,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    Unavailable,
    documented,
)

# Shopify caps a webhook's body far below this; a product with hundreds of variants is ~1 MB.
MAX_BYTES = 4 * 1024 * 1024

webhook_router = APIRouter(tags=["connectors"], route_class=AdminRoute)
router = APIRouter(prefix="/api/v1/connectors", tags=["connectors"], route_class=AdminRoute)
Manager = Annotated[Principal, requires(Permission.CONNECTORS_MANAGE)]

_WEBHOOK_OPENAPI: dict[str, Any] = {
    "requestBody": {"required": True, "content": {
        "application/json": {"schema": {"type": "object", "description": "The platform's "
                             "payload of the topic, signed as it was sent"}},
        "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
            "webhook_id": {"type": "string"}}, "description": "WooCommerce's unsigned ping"}},
    }},
    "parameters": [
        {"name": header, "in": "header", "required": False, "schema": {"type": "string"},
         "description": f"{platform}: HMAC-SHA256 of the raw body with the connector's secret"}
        for platform, header in SIGNATURE_HEADERS.items()
    ],
    **PUBLIC,
}  # fmt: skip


@webhook_router.post(
    "/webhooks/{platform}/{source_id}", response_model=WebhookReceipt,
    openapi_extra=_WEBHOOK_OPENAPI,
    responses=documented(Unauthorized, NotFound, PayloadTooLarge),
)  # fmt: skip
async def shop_webhook(
    request: Request,
    platform: Annotated[Platform, Path(description="shopify, woocommerce or shopware")],
    source_id: Annotated[str, Path(description="The connector's source id")],
) -> dict[str, Any]:
    """A shop's webhook: verified against the raw body (401 and nothing stored when the
    signature is wrong or missing), stored once per delivery id (a retry answers `duplicate`),
    then applied — or kept in the connector dead-letter list when it cannot be mapped."""
    body = await read_body(request, MAX_BYTES, "a webhook's body")
    if platform == "woocommerce" and is_woocommerce_ping(request.headers, body):
        return {"outcome": "ping", "delivery_id": None}
    services = request.app.state.services
    received = await run_in_threadpool(
        receiving.accept, services, platform, source_id, request.headers, body
    )
    return {"outcome": received.outcome, "delivery_id": received.delivery_id}


def _shown(request: Request, connector: service.ConnectorInfo) -> dict[str, Any]:
    base = request.app.state.settings.base_url.rstrip("/")
    return {"id": connector.id, "name": connector.name, "platform": connector.platform,
            "source_id": connector.source_id, "webhook_url": base + connector.path,
            "currency": connector.currency, "created_at": connector.created_at}  # fmt: skip


@router.get("", response_model=ConnectorList)
def list_connectors(request: Request, db: Db, key: Manager) -> dict[str, Any]:
    """The workspace's shop connectors with their webhook URLs; never a secret."""
    return {"data": [_shown(request, c) for c in service.listed(db, key.workspace_id)]}


@router.post("", response_model=ShopConnector, status_code=201,
             responses=documented(Conflict, Unavailable))  # fmt: skip
def add_connector(request: Request, db: WriteDb, key: Manager, new: NewConnector) -> dict[str, Any]:
    """A new connector and its source; the secret is stored encrypted (503 while
    NERVE_SECRET_KEY is unset) and never shown again."""
    vault = request.app.state.services.vault
    added = service.add(db, vault, key.workspace_id, new.platform, new.name,
                        new.secret.get_secret_value(), actor=key.key_id,
                        currency=new.currency)  # fmt: skip
    return _shown(request, added)


@router.get("/dead-letters", response_model=ConnectorDeadLetterList)
def list_dead_letters(db: Db, key: Manager) -> dict[str, Any]:
    """Deliveries that could not be mapped, oldest first, with their reasons and bodies."""
    letters = deliveries.dead_letters(db, key.workspace_id)
    return {"data": [ConnectorDeadLetter.model_validate(d, from_attributes=True) for d in letters]}


_LARGEST_ID = 2**63 - 1


@router.post("/dead-letters/{delivery_id}/replay", response_model=ConnectorReplay,
             responses=documented(NotFound, Conflict))  # fmt: skip
def replay_dead_letter(
    db: WriteDb, key: Manager,
    delivery_id: Annotated[str, Path(description="The delivery's id, as the list shows it")],
) -> dict[str, Any]:  # fmt: skip
    """Map a dead-lettered delivery again, after a mapping fix: applied, or still dead with
    the new reason; 409 when it is not a dead letter."""
    # Anything but a stored id names no delivery (nor could a 70-digit number be bound).
    if (
        not delivery_id.isascii()
        or not delivery_id.isdigit()
        or not 0 < int(delivery_id) <= _LARGEST_ID
    ):
        raise NotFound(f"no delivery {delivery_id}")
    result = deliveries.replay(db, key.workspace_id, int(delivery_id))
    return {"delivery_id": result.delivery_id, "outcome": result.outcome, "reason": result.reason}


@router.delete("/{name}", status_code=204, responses=documented(NotFound))
def remove_connector(db: WriteDb, key: Manager, name: str) -> Response:
    """Forget the connector, its secret and its deliveries (its source and events stay)."""
    service.remove(db, key.workspace_id, name, actor=key.key_id)
    return Response(status_code=204)
