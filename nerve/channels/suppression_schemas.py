"""Request and response shapes of `/api/v1/suppressions` and `/api/v1/feedback`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Reason = Literal["hard_bounce", "complaint", "unsubscribed", "manual"]


class SuppressionEntry(BaseModel):
    address_hash: str = Field(
        description="Keyed hash (HMAC-SHA256, the workspace's key) of the normalised address: "
        "the list holds no address in the clear"
    )
    channel: Literal["email"]
    reason: Reason
    detail: str | None = Field(description="Why, as the bounce or import said (no address)")
    created_at: datetime


class SuppressionList(BaseModel):
    data: list[SuppressionEntry]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


class NewSuppression(BaseModel):
    email: str = Field(max_length=320, description="The address (`address` is read too)")
    reason: Reason | None = Field(
        default=None, description="`manual` when not given: no mail at all goes to it"
    )
    detail: str | None = Field(default=None, max_length=1000)


class RejectedLine(BaseModel):
    line: int | None = Field(description="The CSV line (1 is the header's)")
    index: int | None = Field(description="The position in `entries` (JSON)")
    reason: str


class ImportResult(BaseModel):
    imported: int = Field(description="Addresses listed now")
    unchanged: int = Field(description="Listed already, for the same reason")
    rejected: list[RejectedLine] = Field(description="Refused lines: nothing of them applied")


class RemovedSuppression(BaseModel):
    address_hash: str
    reasons: list[Reason] = Field(description="The reasons it was listed for, now removed")


class FeedbackReport(BaseModel):
    """A bounce or complaint as a relay reports it (Postmark's, SES's or an MTA's webhook,
    translated)."""

    type: Literal["bounce", "complaint"]
    email: str | None = Field(
        default=None, max_length=320, description="The recipient; else the message's"
    )
    message_id: str | None = Field(
        default=None, max_length=998, description="The Message-ID Nerve sent the message with"
    )
    permanent: bool = Field(
        default=True,
        description="A bounce: true for a hard one (the address is suppressed), false for a "
        "soft one (mailbox full, server down: only logged)",
    )
    detail: str = Field(default="", max_length=1000, description="The SMTP answer or report")


class FeedbackResult(BaseModel):
    type: Literal["bounce", "complaint"]
    permanent: bool
    message_id: str | None
    message: str | None = Field(description="The message log row it concerned, when found")
    outcome: Literal["suppressed", "already_applied", "logged", "unknown_recipient"] = Field(
        description="suppressed: the address listed or its message marked; already_applied: "
        "the same report came before; logged: a soft bounce; unknown_recipient: no address "
        "and no message Nerve sent"
    )


class FeedbackResults(BaseModel):
    data: list[FeedbackResult]


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A flat model's JSON Schema, to describe a body that a route reads itself (it takes
    more than one media type)."""
    schema = model.model_json_schema()
    schema.pop("title", None)
    return schema
