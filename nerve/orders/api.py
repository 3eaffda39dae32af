"""`/api/v1/orders`: an order with its lines and status history, a person's orders, and the
way in for a shop backend without a connector (orders and their statuses, idempotent)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from nerve.admin_routes import AdminRoute
from nerve.auth.api import requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.db.session import Db, WriteDb
from nerve.orders import service
from nerve.orders.schemas import (
    NewStatus,
    OrderFacts,
    OrderList,
    OrderRecord,
    RecordedOrder,
    RecordedStatus,
)

router = APIRouter(prefix="/api/v1/orders", tags=["orders"], route_class=AdminRoute)
profile_router = APIRouter(prefix="/api/v1/profiles", tags=["orders"], route_class=AdminRoute)
Reader = Annotated[Principal, requires(Permission.ORDERS_READ)]
Writer = Annotated[Principal, requires(Permission.ORDERS_WRITE)]
OrderId = Annotated[str, Path(max_length=255, description="The shop's order id")]
# Reading: an id too long to be stored names no order (404), not a malformed request.
KnownOrderId = Annotated[str, Path(description="The shop's order id")]
SOURCE = "api"


@router.get("/{order_id}", response_model=OrderRecord)
def get_order(db: Db, key: Reader, order_id: KnownOrderId) -> dict[str, Any]:
    """One order, merged from every head and shop that reported it: lines, status history,
    current status; amounts as decimal strings."""
    return service.find(db, key.workspace_id, order_id)


@router.post(
    "", response_model=RecordedOrder, status_code=201,
    responses={200: {"model": RecordedOrder, "description": "The order id was known: merged"}},
)  # fmt: skip
def record_order(db: WriteDb, key: Writer, facts: OrderFacts, response: Response) -> dict[str, Any]:
    """Record an order from the shop's backend (idempotent by order id: a known order takes
    only what it lacked). A new order records `Order Completed` about its customer."""
    created = service.record_order(db, key.workspace_id, facts, source=SOURCE)
    if not created:
        response.status_code = 200
    return {"created": created, "order": service.find(db, key.workspace_id, facts.order_id)}


@router.post(
    "/{order_id}/statuses", response_model=RecordedStatus, status_code=201,
    responses={200: {"model": RecordedStatus, "description": "Recorded before: nothing new"}},
)  # fmt: skip
def add_status(
    db: WriteDb, key: Writer, order_id: OrderId, new: NewStatus, response: Response
) -> dict[str, Any]:
    """Record a status at its time (paid, shipped with carrier and tracking, refunded with the
    amount...). Out of order is fine; an order not yet known keeps it until it arrives."""
    created = service.add_status(db, key.workspace_id, order_id, new.status, new.at,
                                 source=SOURCE, detail=new.detail())  # fmt: skip
    if not created:
        response.status_code = 200
    return {"created": created, "order": service.find_or_none(db, key.workspace_id, order_id)}


@profile_router.get("/{profile_id}/orders", response_model=OrderList)
def person_orders(db: Db, key: Reader, profile_id: str) -> dict[str, Any]:
    """The orders of the person this profile belongs to (every profile merged into them),
    newest first."""
    return {"data": service.orders_of_person(db, key.workspace_id, profile_id)}
