"""Request and response shapes of the broadcast API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from nerve.flows.schemas import Environment

Status = Literal["scheduled", "running", "paused", "cancelled", "done"]


class NewBroadcast(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime | None = Field(
        default=None,
        description="When to start (with its offset, e.g. 2027-03-01T08:00:00Z); now if unset "
        "or past. For 09:00 in each person's time zone, start now and make the flow's first "
        'node `wait: {until: "09:00"}`',
    )
    environment: Environment = "production"


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    environment: Environment = "production"
    properties: dict[str, Any] | None = Field(
        default=None,
        description="For a flow that starts on a catalog event: the event's properties to test "
        'the condition with, e.g. {"brand": "Acme Coffee", "discount_percent": 25}',
    )


class BroadcastPreview(BaseModel):
    """The blast radius of a broadcast, before it starts."""

    flow: str
    environment: Environment
    segment: str = Field(description="The segment's key")
    segment_name: str
    audience: int = Field(description="Members of the segment now")
    sampled: int = Field(description="Members the condition was tested on")
    passing: int = Field(description="Of those, how many the trigger's condition lets in")
    estimated_runs: int = Field(description="audience * passing / sampled")
    condition: str | None = Field(description="The trigger's `where`, if any")


class BroadcastOut(BaseModel):
    id: str
    flow: str = Field(description="The flow's name")
    flow_id: str
    version_id: str = Field(description="The version its runs start on")
    environment: Environment
    segment_id: str
    segment: str | None = Field(description="The segment's key")
    status: Status
    due_at: datetime = Field(description="When it starts (started)")
    audience: int | None = Field(description="Members of the segment when it started")
    entered: int = Field(description="Runs started")
    skipped: int = Field(description="Members the condition left out, or erased meanwhile")
    percent: float = Field(description="How far through its audience it is, 0 to 100")
    cause: str = Field(
        description="broadcast:<id> (started by hand), schedule:<occurrence> or "
        "shop_event:<id> (a catalog event)"
    )
    trigger_event: str | None = Field(description="broadcast, schedule or the catalog event")
    created_by: str | None = Field(description="The key that started it; null for the shop")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class BroadcastList(BaseModel):
    data: list[BroadcastOut] = Field(description="Newest first")
