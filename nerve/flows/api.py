"""Admin API: flows, versions, runs, dead letters, and the flow JSON Schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response

from nerve.auth.api import PUBLIC, requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.db.session import Db, WriteDb
from nerve.errors import InvalidInput
from nerve.flows import bodies, engine, service, simulate
from nerve.flows.definition import InvalidFlow, json_schema, validate
from nerve.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["flows"])


@router.get("/flows/schema", openapi_extra=PUBLIC)
def flow_schema() -> dict[str, Any]:
    """The JSON Schema every flow definition is validated against."""
    return json_schema()


@router.get("/flows")
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
        "content": {media: {"schema": _DEFINITION_SCHEMA} for media in (bodies.JSON, *bodies.YAML)},
    }
}


@router.post(
    "/flows",
    status_code=201,
    openapi_extra=_FLOW_BODY,
    responses={
        200: {"description": "Unchanged: the latest version in this environment is the same"},
        413: {"description": "The body is larger than 1 MiB"},
        415: {"description": "The body is neither JSON nor YAML"},
    },
)
def publish_flow(
    body: Annotated[bodies.FlowBody, Depends(bodies.flow_body)],  # read before taking the db
    db: WriteDb,
    key: Annotated[Principal, requires(Permission.FLOWS_WRITE)],
    response: Response,
    environment: Annotated[Literal["staging", "production"], Query()] = "staging",
) -> dict[str, Any]:
    """Publish a new version (201) — or nothing, when the definition equals the latest version
    in that environment: that version, `unchanged: true` (200)."""
    media = bodies.media_type(body.content_type)
    with _refused_as_invalid_flow():
        flow = validate(bodies.data_of(body.content, media))
    published = engine.publish(db, key.workspace_id, flow, environment)
    if published["unchanged"]:
        response.status_code = 200
    return published


@contextmanager
def _refused_as_invalid_flow() -> Iterator[None]:
    """InvalidFlow as a 400 `invalid_flow` with every problem in `details`."""
    try:
        yield
    except InvalidFlow as exc:
        error = InvalidInput("the flow is invalid", details=exc.problems)
        error.code = "invalid_flow"
        raise error from None


@router.post("/flows/test")
def test_flow(
    request: Request,
    key: Annotated[Principal, requires(Permission.FLOWS_WRITE)],
    flow: Annotated[dict[str, Any], Body(description="A draft flow definition")],
    events: Annotated[
        list[dict[str, Any]], Body(description="Scripted events, each with a `timestamp`")
    ],
) -> dict[str, Any]:
    """Time travel for a draft: what the flow would do with these events, delivering nothing
    (the same simulator as `nerve flows test`). A test that reaches its budget of steps or
    seconds answers with what happened until then, and `stopped` says so."""
    settings: Settings = request.app.state.settings
    with _refused_as_invalid_flow():
        draft = validate(flow)
    try:
        return simulate.run(draft, events, simulate.SimulationBudget.configured(settings))
    except simulate.ScenarioError as exc:
        raise InvalidInput(str(exc)) from None


@router.get("/flows/{flow_id}/versions")
def list_versions(
    db: Db, key: Annotated[Principal, requires(Permission.FLOWS_READ)], flow_id: str
) -> dict[str, Any]:
    return {"data": service.list_versions(db, key.workspace_id, flow_id)}


@router.get("/flows/{flow_id}/runs")
def list_runs(
    db: Db,
    key: Annotated[Principal, requires(Permission.FLOWS_READ)],
    flow_id: str,
    status: Literal["active", "waiting", "completed", "exited", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    return {"data": service.list_runs(db, key.workspace_id, flow_id, status, limit)}


@router.get("/runs/{run_id}")
def get_run(
    db: Db, key: Annotated[Principal, requires(Permission.FLOWS_READ)], run_id: str
) -> dict[str, Any]:
    return service.get_run(db, key.workspace_id, run_id)


@router.get("/dead-letters")
def list_dead_letters(
    db: Db,
    key: Annotated[Principal, requires(Permission.FLOWS_READ)],
    include_replayed: bool = False,
) -> dict[str, Any]:
    return {"data": service.list_dead_letters(db, key.workspace_id, include_replayed)}


@router.post("/dead-letters/{dead_letter_id}/replay")
def replay_dead_letter(
    db: WriteDb,
    key: Annotated[Principal, requires(Permission.DEAD_LETTERS_REPLAY)],
    dead_letter_id: str,
) -> dict[str, Any]:
    return service.replay(db, key.workspace_id, dead_letter_id)
