"""Request and response shapes of the flow admin API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Environment = Literal["staging", "production"]

# A small, valid flow for the documentation's examples: one reminder for an abandoned cart.
EXAMPLE_FLOW: dict[str, Any] = {
    "name": "abandoned_cart",
    "trigger": {"event": "Checkout Started", "key": "properties.cart_id"},
    "exit": [
        {
            "event": "Order Completed",
            "where": "properties.cart_id == trigger.properties.cart_id",
            "goal": True,
        }
    ],
    "nodes": [
        {"id": "pause", "wait": "1h"},
        {"id": "remind", "action": "webhook", "with": {"url": "https://shop.example/remind"}},
    ],
}


class FlowSchema(BaseModel):
    """A JSON Schema (draft 2020-12) document."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    schema_: str = Field(alias="$schema")
    title: str
    type: Literal["object"]
    properties: dict[str, Any]
    required: list[str]
    defs: dict[str, Any] = Field(alias="$defs", description="Node, trigger, exit ... schemas")


class FlowSummary(BaseModel):
    id: str
    workspace_id: str
    name: str
    created_at: datetime
    live_versions: dict[str, int] = Field(
        description="The newest version in each environment it was published to"
    )


class FlowList(BaseModel):
    data: list[FlowSummary] = Field(description="By name")


class PublishedVersion(BaseModel):
    flow_id: str
    version_id: str
    version: int = Field(description="1 for the first publish of a flow, then counting up")
    environment: Environment
    unchanged: bool = Field(
        description="True when the definition equals the latest version in this environment: "
        "nothing was published, this is that version"
    )


class FlowVersion(BaseModel):
    """A published flow definition; immutable."""

    id: str
    workspace_id: str
    flow_id: str
    version: int
    environment: Environment
    definition: dict[str, Any] = Field(description="The flow definition (see /flows/schema)")
    published_at: datetime


class FlowVersionList(BaseModel):
    data: list[FlowVersion] = Field(description="Oldest first")


class FlowTestRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "flow": EXAMPLE_FLOW,
                    "events": [
                        {
                            "userId": "anna",
                            "event": "Checkout Started",
                            "properties": {"cart_id": "c-1"},
                            "timestamp": "2026-11-02T10:00:00Z",
                        }
                    ],
                }
            ]
        }
    )

    flow: dict[str, Any] = Field(description="A draft flow definition (see /flows/schema)")
    events: list[dict[str, Any]] = Field(
        description="Scripted Segment events, each with a `timestamp`"
    )


class SimulatedEntry(BaseModel):
    at: str = Field(description="Simulated time (ISO 8601)")
    run: str = Field(description="The simulated run, e.g. run-1")
    what: str = Field(description="What happened, e.g. `action webhook`, `goal reached`")
    detail: dict[str, Any]


class Stopped(BaseModel):
    budget: str = Field(description="steps or seconds: the budget the test reached")
    at: str = Field(description="The simulated time it had reached (ISO 8601)")
    message: str


class FlowTestResult(BaseModel):
    timeline: list[SimulatedEntry] = Field(description="In simulated time order")
    stopped: Stopped | None = Field(
        description="Set when the test stopped at its budget; the timeline is what happened "
        "until then"
    )


class FlowRun(BaseModel):
    """One person's way through one version of a flow."""

    id: str
    workspace_id: str
    flow_id: str
    version_id: str
    environment: Environment
    profile_id: str
    trigger_key: str = Field(description="The run key (trigger `key`), e.g. a cart id")
    status: str = Field(description="active, waiting (for an event), completed, exited or failed")
    node: str | None = Field(description="The node the run is at (while it sleeps: the wait node)")
    state_version: int = Field(description="Counts the run's transitions")
    waiting_for: Any = Field(
        description="While waiting: the event a wait_for_event node waits for, or the time a "
        "wait ends (`until`) and the node it goes on to (`next_node`)"
    )
    state: Any = Field(description="The run's data: trigger event, split paths taken ...")
    outcome: str | None = Field(description="completed, goal, exited or failed once ended")
    started_at: datetime
    ended_at: datetime | None


class FlowRunList(BaseModel):
    data: list[FlowRun] = Field(description="Newest first")


class FlowStep(BaseModel):
    """Something a run did: entered, waiting, branched, split, action, completed ..."""

    id: int
    workspace_id: str
    run_id: str
    node: str | None
    kind: str
    detail: Any
    at: datetime


class FlowTask(BaseModel):
    """Durable work of a run: advance at a node when due, run an action, time a wait out."""

    id: int
    workspace_id: str
    run_id: str
    kind: str = Field(
        description="advance, action, timeout; collect (a digest node adds the run's event) or "
        "digest (the window of the digest the run opened closes)"
    )
    node: str
    expected_version: int = Field(description="The run's state_version it was made for")
    due_at: datetime
    status: str = Field(description="pending, running, done, cancelled or dead")
    attempts: int
    lease_until: datetime | None
    owner: str | None = Field(description="The worker running it")
    idempotency_key: str = Field(description="Sent with the action; the same on every attempt")
    last_error: Any
    created_at: datetime


class FlowRunDetail(FlowRun):
    steps: list[FlowStep] = Field(description="In order")
    tasks: list[FlowTask] = Field(description="In order")


class DeadLetter(BaseModel):
    """A task that failed for good, kept for replay."""

    id: str
    workspace_id: str
    task_id: int
    run_id: str
    node: str
    error: Any = Field(description="The last error: message, attempts, permanent ...")
    attempts: int
    created_at: datetime
    replayed_at: datetime | None


class DeadLetterList(BaseModel):
    data: list[DeadLetter] = Field(description="Oldest first")


class Replayed(BaseModel):
    id: str = Field(description="The dead letter")
    task_id: int = Field(description="The task that runs again, with its idempotency key")
    run_id: str
    replayed: Literal[True]


class ExportedStep(BaseModel):
    node: str | None
    kind: str
    detail: Any
    at: datetime


class ExportedRun(BaseModel):
    """A person's run as their data export shows it."""

    id: str
    flow: str = Field(description="The flow's name")
    environment: str
    status: str
    outcome: str | None
    trigger: Any = Field(description="The event that started the run")
    started_at: datetime
    ended_at: datetime | None
    steps: list[ExportedStep]


class ExportedDigest(BaseModel):
    """A digest of the person's events, as their data export shows it (docs/digests.md)."""

    id: str
    flow: str = Field(description="The flow's name")
    environment: str
    node: str
    run_id: str = Field(description="The run that sends it")
    status: str = Field(description="open, closed (sent on) or abandoned (its run left)")
    opened_at: datetime
    closes_at: datetime
    closed_at: datetime | None
    items: list[Any] = Field(description="Each collected event's properties, in order")
