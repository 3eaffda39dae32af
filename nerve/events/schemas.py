"""Response shapes for the event store API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EventType = Literal["identify", "track", "page", "screen", "group", "alias"]


class Event(BaseModel):
    """A stored Segment message as the Tracking API normalised it, with the store's `id` and
    the `sourceId` of the head that sent it. Fields the head sent beyond the spec's are kept
    as they came."""

    # The spec lets a head send any field; the store keeps them, so does the answer.
    model_config = ConfigDict(extra="allow")

    id: int = Field(description="Position in the event store: arrival order")
    sourceId: str = Field(description="The source (head) that sent the message")
    type: EventType
    messageId: str = Field(description="Given by the head, else derived or generated")
    userId: str | None
    anonymousId: str | None
    timestamp: str = Field(description="When it happened (ISO 8601), device clock corrected")
    originalTimestamp: str | None = Field(description="When it happened by the device's clock")
    sentAt: str | None = Field(description="When the head sent it, by the device's clock")
    receivedAt: str = Field(description="When Nerve received it")
    # Checked only where the spec needs them (`event` on track calls, `previousId` on alias,
    # `groupId` on group), so elsewhere they hold whatever the head sent.
    event: Any = Field(None, description="The action's name; a string on track calls")
    name: Any = Field(None, description="The page's or screen's name")
    category: Any = Field(None, description="The page's or screen's category")
    previousId: Any = Field(None, description="The earlier id of an alias call")
    groupId: Any = Field(None, description="The group of a group call")
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    integrations: dict[str, Any] | None = None


class EventPage(BaseModel):
    data: list[Event] = Field(description="Events in arrival order")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")
