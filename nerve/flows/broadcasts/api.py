"""`/api/v1/flows/{name}/broadcasts…` and `/api/v1/broadcasts/{id}…`: start a flow for every
member of its segment (with its blast radius first), follow, pause, resume and cancel it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from nerve.admin_routes import AdminRoute
from nerve.auth.api import requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.db.session import Db, WriteDb
from nerve.errors import Conflict, documented
from nerve.flows.broadcasts import service
from nerve.flows.broadcasts.schemas import (
    BroadcastList,
    BroadcastOut,
    BroadcastPreview,
    NewBroadcast,
    PreviewRequest,
)

router = APIRouter(prefix="/api/v1", tags=["broadcasts"], route_class=AdminRoute)
Reader = Annotated[Principal, requires(Permission.FLOWS_READ)]
Sender = Annotated[Principal, requires(Permission.BROADCASTS_SEND)]
FlowName = Annotated[str, Path(description="The flow's name")]
BroadcastId = Annotated[str, Path(description="The broadcast's id (`bc_…`)")]


@router.post(
    "/flows/{name}/broadcasts",
    response_model=BroadcastOut,
    status_code=201,
    responses=documented(Conflict),
)
def start_broadcast(db: WriteDb, key: Sender, name: FlowName, new: NewBroadcast) -> dict[str, Any]:
    """Start the flow (trigger `type: audience, event: broadcast`) for every member of its
    segment, now or at `at`. The worker starts the runs in chunks, throttled."""
    return service.start(db, key.workspace_id, name, new.environment, new.at, key.key_id)


@router.post(
    "/flows/{name}/broadcasts/preview",
    response_model=BroadcastPreview,
    responses=documented(Conflict),
)
def preview_broadcast(
    db: Db, key: Sender, name: FlowName, request: PreviewRequest
) -> dict[str, Any]:
    """The blast radius before it starts: the segment's size, and how many of a sample pass
    the trigger's condition. Starts nothing; asked by whoever may start it."""
    return service.preview(db, key.workspace_id, name, request.environment, request.properties)


@router.get("/flows/{name}/broadcasts", response_model=BroadcastList)
def list_broadcasts(
    db: Db,
    key: Reader,
    name: FlowName,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    return {"data": service.list_for_flow(db, key.workspace_id, name, limit)}


@router.get("/broadcasts/{broadcast_id}", response_model=BroadcastOut)
def get_broadcast(db: Db, key: Reader, broadcast_id: BroadcastId) -> dict[str, Any]:
    """Progress: audience, entered, skipped, percent, status."""
    return service.get(db, key.workspace_id, broadcast_id)


@router.post(
    "/broadcasts/{broadcast_id}/pause", response_model=BroadcastOut, responses=documented(Conflict)
)
def pause_broadcast(db: WriteDb, key: Sender, broadcast_id: BroadcastId) -> dict[str, Any]:
    """Nobody new enters until it is resumed; runs already started go on."""
    return service.pause(db, key.workspace_id, broadcast_id, key.key_id)


@router.post(
    "/broadcasts/{broadcast_id}/resume", response_model=BroadcastOut, responses=documented(Conflict)
)
def resume_broadcast(db: WriteDb, key: Sender, broadcast_id: BroadcastId) -> dict[str, Any]:
    """Go on where it paused."""
    return service.resume(db, key.workspace_id, broadcast_id, key.key_id)


@router.post(
    "/broadcasts/{broadcast_id}/cancel", response_model=BroadcastOut, responses=documented(Conflict)
)
def cancel_broadcast(db: WriteDb, key: Sender, broadcast_id: BroadcastId) -> dict[str, Any]:
    """Stop for good: nobody else enters, and its runs that still wait end as cancelled."""
    return service.cancel(db, key.workspace_id, broadcast_id, key.key_id)
