"""Response shapes for the event store API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class EventPage(BaseModel):
    data: list[dict[str, Any]] = Field(
        description="Events in arrival order, with Segment field names plus `id` and `sourceId`"
    )
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")
