"""Admin API: flows, versions, runs, dead letters, and the flow JSON Schema."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from nerve.admin_routes import AdminRoute
from nerve.auth.api import PUBLIC, requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.db.session import Db, WriteDb
from nerve.errors import Conflict, InvalidInput, PayloadTooLarge, UnsupportedMediaType, documented
from nerve.flows import bodies, service, simulate, versions
from nerve.flows.definition import json_schema, validate
from nerve.flows.schemas import (
    EXAMPLE_FLOW,
    DeadLetterList,
    Environment,
    FlowList,
    FlowRunDetail,
    FlowRunList,
    FlowSchema,
    FlowTestRequest,
    FlowTestResult,
    FlowVersionList,
    PublishedVersion,
    Replayed,
)
from nerve.outbound.policy import OutboundPolicy
from nerve.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["flows"], route_class=AdminRoute)


@router.get("/flows/schema", response_model=FlowSchema, openapi_extra=PUBLIC)
def flow_schema() -> dict[str, Any]:
    """The JSON Schema every flow definition is validated against."""
    return json_schema()


@router.get("/flows", response_model=FlowList)
def list_flows(
    db: Db, key: Annotated[Principal, requires(Permission.FLOWS_READ)]
) -> dict[str, Any]:
    return {"data": service.list_flows(db, key.workspace_id)}


_DEFINITION_SCHEMA = {
    "type": "object",
    "description": "A flow definition; its JSON Schema is served at /api/v1/flows/schema",
}
_FLOW_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A flow definition as JSON, or as YAML (what `nerve flows apply` reads)",
        "content": {
            bodies.JSON: {"schema": _DEFINITION_SCHEMA, "example": EXAMPLE_FLOW},
            **{media: {"schema": _DEFINITION_SCHEMA} for media in bodies.YAML},
        },
    }
}


@router.post(
    "/flows",
    status_code=201,
    response_model=PublishedVersion,
    openapi_extra=_FLOW_BODY,
    responses={
        200: {
            "description": "Unchanged: the latest version in this environment is the same",
            "model": PublishedVersion,
        },
        **documented(PayloadTooLarge, UnsupportedMediaType),
    },
)
def publish_flow(
    request: Request,
    body: Annotated[bodies.FlowBody, Depends(bodies.flow_body)],  # read before taking the db
    db: WriteDb,
    key: Annotated[Principal, requires(Permission.FLOWS_WRITE)],
    response: Response,
    environment: Annotated[Environment, Query()] = "staging",
) -> dict[str, Any]:
    """Publish a new version (201) — or nothing, when the definition equals the latest version
    in that environment: that version, `unchanged: true` (200)."""
    data = bodies.data_of(body.content, bodies.media_type(body.content_type))
    flow = validate(data, _outbound(request))
    published = versions.publish(db, key.workspace_id, flow, environment)
    if published["unchanged"]:
        response.status_code = 200
    return published


@router.post("/flows/test", response_model=FlowTestResult)
def test_flow(
    request: Request,
    key: Annotated[Principal, requires(Permission.FLOWS_WRITE)],
    draft: FlowTestRequest,
) -> dict[str, Any]:
    """Time travel for a draft: what the flow would do with these events, delivering nothing
    (the same simulator as `nerve flows test`). A test that reaches its budget of steps or
    seconds answers with what happened until then, and `stopped` says so."""
    settings: Settings = request.app.state.settings
    flow = validate(draft.flow, _outbound(request))
    try:
        return simulate.run(flow, draft.events, simulate.SimulationBudget.configured(settings))
    except simulate.ScenarioError as exc:
        raise InvalidInput(str(exc)) from None


def _outbound(request: Request) -> OutboundPolicy:
    """The policy the workers of this deployment call under (NERVE_OUTBOUND_ALLOW)."""
    return OutboundPolicy.configured(request.app.state.settings)


@router.get("/flows/{flow_id}/versions", response_model=FlowVersionList)
def list_versions(
    db: Db, key: Annotated[Principal, requires(Permission.FLOWS_READ)], flow_id: str
) -> dict[str, Any]:
    return {"data": service.list_versions(db, key.workspace_id, flow_id)}


@router.get("/flows/{flow_id}/runs", response_model=FlowRunList)
def list_runs(
    db: Db,
    key: Annotated[Principal, requires(Permission.FLOWS_READ)],
    flow_id: str,
    status: Literal["active", "waiting", "completed", "exited", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    return {"data": service.list_runs(db, key.workspace_id, flow_id, status, limit)}


@router.get("/runs/{run_id}", response_model=FlowRunDetail)
def get_run(
    db: Db, key: Annotated[Principal, requires(Permission.FLOWS_READ)], run_id: str
) -> dict[str, Any]:
    return service.get_run(db, key.workspace_id, run_id)


@router.get("/dead-letters", response_model=DeadLetterList)
def list_dead_letters(
    db: Db,
    key: Annotated[Principal, requires(Permission.FLOWS_READ)],
    include_replayed: bool = False,
) -> dict[str, Any]:
    return {"data": service.list_dead_letters(db, key.workspace_id, include_replayed)}


@router.post(
    "/dead-letters/{dead_letter_id}/replay",
    response_model=Replayed,
    responses=documented(Conflict),
)
def replay_dead_letter(
    db: WriteDb,
    key: Annotated[Principal, requires(Permission.DEAD_LETTERS_REPLAY)],
    dead_letter_id: str,
) -> dict[str, Any]:
    return service.replay(db, key.workspace_id, dead_letter_id)
