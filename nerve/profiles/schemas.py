"""Response shapes of the profile API."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from nerve.errors import InvalidInput
from nerve.events.schemas import Event
from nerve.events.service import MAX_EVENT_ID


class PersonIdentifier(BaseModel):
    type: str = Field(description="anonymous_id, user_id, email, phone or an outside system's")
    value: str


class SourceSeen(BaseModel):
    id: str
    name: str
    kind: str = Field(description="web, app, kiosk, pos or server")
    last_seen: datetime = Field(description="The person's latest event from this head")


class ComputedAttributes(BaseModel):
    first_seen: datetime | None = Field(description="Time of the person's earliest event")
    last_seen: datetime | None = Field(description="Time of the person's latest event")
    sources: list[SourceSeen] = Field(description="The heads the person used, by name")
    order_count: int
    total_spent: float = Field(
        description="Exact sum of the orders' totals in `spend_currency` (orders in other "
        "currencies are not added in; orders without a currency are)"
    )
    average_order_value: float | None = Field(
        description="total_spent per order in `spend_currency`, to the cent; null before the "
        "first order"
    )
    spend_currency: str | None = Field(
        default=None,
        description="The currency most of the person's orders are in (a tie: the latest's)",
    )
    last_order_at: datetime | None
    timezone: str | None = Field(description="The latest IANA time zone a head reported")
    interests: dict[str, float] = Field(
        description="Decayed interest scores such as `category:Running Shoes`, highest first"
    )
    top_brand: str | None = Field(
        default=None, description="The brand of the highest `brand:` interest, e.g. Acme Coffee"
    )
    top_category: str | None = Field(
        default=None, description="The category of the highest `category:` interest"
    )


class Person(BaseModel):
    """One person as every part of Nerve sees them — the API, flow conditions, the time-travel
    simulator, and later segments and personalization — combined over every profile merged
    into them."""

    id: str = Field(description="The surviving profile id of this person")
    merged_ids: list[str] = Field(description="Profiles merged into this one")
    identifiers: list[PersonIdentifier]
    traits: dict[str, Any] = Field(description="The surviving value of each trait")
    computed: ComputedAttributes


class TimelinePage(BaseModel):
    data: list[Event] = Field(description="Events of every head, in event-time order")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


class TraitObservation(BaseModel):
    name: str
    value: Any
    observed_at: datetime
    event_id: int | None


def encode_timeline_cursor(last: tuple[datetime, int]) -> str:
    text = f"t:{last[0].isoformat()}|{last[1]}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_timeline_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, rest = text.partition(":")
        at, _, event_id = rest.partition("|")
        moment, last_id = datetime.fromisoformat(at), int(event_id)
        # Cursors this API made hold a UTC time and a 64-bit id; a forged one gets a 400, not
        # a query that cannot be bound.
        if kind != "t" or moment.tzinfo is None or not 0 <= last_id <= MAX_EVENT_ID:
            raise ValueError(kind)
        return moment.astimezone(UTC), last_id
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("invalid cursor", details={"cursor": cursor}) from None
