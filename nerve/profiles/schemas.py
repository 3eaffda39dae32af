"""Response shapes of the profile API."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from nerve.errors import InvalidInput


class Person(BaseModel):
    id: str = Field(description="The surviving profile id of this person")
    merged_ids: list[str] = Field(description="Profiles merged into this one")
    identifiers: list[dict[str, str]]
    traits: dict[str, Any]
    computed: dict[str, Any]


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
