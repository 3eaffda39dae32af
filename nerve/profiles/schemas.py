"""The typed person view and the other shapes of the profile API."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from nerve.errors import InvalidInput


class IdentifierOut(BaseModel):
    type: str = Field(description="user_id, anonymous_id, email, phone, or an outside system's id")
    value: str


class SourceSeen(BaseModel):
    id: str
    name: str
    kind: str
    last_seen: datetime


class Computed(BaseModel):
    """Attributes computed from the person's events across every head."""

    first_seen: datetime | None
    last_seen: datetime | None
    sources: list[SourceSeen] = Field(description="The heads the person used, with last use")
    order_count: int
    total_spent: float
    average_order_value: float | None
    last_order_at: datetime | None
    timezone: str | None = Field(description="IANA time zone last reported by a device")
    interests: dict[str, float] = Field(
        description='Decayed interest scores, strongest first, e.g. {"category:Running": 7.2}'
    )


class Person(BaseModel):
    """One person as every part of Nerve sees them — the API, flow conditions, the time-travel
    simulator, and later segments and personalization — combined over every profile merged
    into them."""

    id: str = Field(description="The surviving profile id of this person")
    merged_ids: list[str] = Field(description="Profiles merged into this one")
    identifiers: list[IdentifierOut]
    traits: dict[str, Any]
    computed: Computed


class TimelinePage(BaseModel):
    data: list[dict[str, Any]]
    next_cursor: str | None


def encode_timeline_cursor(last: tuple[datetime, int]) -> str:
    text = f"t:{last[0].isoformat()}|{last[1]}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_timeline_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, rest = text.partition(":")
        at, _, event_id = rest.partition("|")
        if kind != "t":
            raise ValueError(kind)
        return datetime.fromisoformat(at), int(event_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("invalid cursor", details={"cursor": cursor}) from None
