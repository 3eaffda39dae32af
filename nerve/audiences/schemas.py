"""Request and response shapes of `/api/v1/audiences`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from nerve.audiences.service import LAG_CAP, NAME
from nerve.webhooks.service import NAME as ENDPOINT_NAME


class NewAudienceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=f"^{NAME.pattern}$",
        description="The audience's name, sent with each batch (the receiver maps it to the "
        "platform's audience)",
        examples=["meta_running_fans"],
    )
    segment: str = Field(min_length=1, max_length=64, description="The segment's key",
                         examples=["running_fans"])  # fmt: skip
    destination: str = Field(
        min_length=1, max_length=32,
        description="`webhook` (signed batches to a webhook endpoint) or `csv` (export only)",
        examples=["webhook"],
    )  # fmt: skip
    endpoint: str | None = Field(
        default=None,
        pattern=f"^{ENDPOINT_NAME.pattern}$",
        description="With `webhook`: the webhook endpoint's name (`nerve webhooks create`)",
        examples=["ads-bridge"],
    )
    consent_topic: str | None = Field(
        default=None, min_length=1, max_length=64,
        description="Only people subscribed to this consent topic (an email or sms topic) are "
        "sent; null: everyone in the segment",
        examples=["ads"],
    )  # fmt: skip


class AudienceOut(BaseModel):
    id: str
    name: str
    segment: str = Field(description="The segment's key")
    destination: str
    endpoint: str | None
    consent_topic: str | None
    status: Literal["active", "paused", "failed"]
    phase: Literal["initial", "following"] = Field(
        description="`initial`: sending the members the segment had when the sync was made; "
        "`following`: sending the segment's entries and exits as they happen"
    )
    members: int = Field(description="People the destination was sent as members (and not "
                         "removed since)")  # fmt: skip
    pending_changes: int = Field(
        description=f"Segment entries and exits not sent yet: the cursor's lag (counted up "
        f"to {LAG_CAP:,})"
    )
    added: int = Field(description="People added, in all")
    removed: int = Field(description="People removed, in all")
    skipped_no_consent: int = Field(
        description="Entries not sent: no consent to the topic (a person who entered while the "
        "initial sync ran may be counted twice)"
    )
    skipped_no_identifier: int = Field(description="Entries not sent: no email and no phone")
    dead_batches: int = Field(description="Batches the destination refused for good (4xx), "
                              "skipped; the latest's reason is `last_error`")  # fmt: skip
    attempts: int = Field(description="Failed attempts of the batch in hand (retried with "
                          "backoff)")  # fmt: skip
    next_attempt_at: datetime | None
    last_synced_at: datetime | None = Field(description="When a batch was last taken")
    last_error: str | None
    created_at: datetime


class AudienceList(BaseModel):
    data: list[AudienceOut]


class ExportedAudienceMembership(BaseModel):
    """An audience the person was sent to as a member (their export)."""

    audience: str
    segment: str
    added_at: datetime
