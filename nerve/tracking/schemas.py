"""The Segment messages the Tracking API takes and what it answers, for the OpenAPI document.

Documentation only: the hot path parses bodies itself (nerve/tracking/normalize.py), more
leniently than these schemas say (numbers as ids, `null` for absent fields), as the SDKs
expect. Field names and meanings follow the Segment spec
(https://segment.com/docs/connections/spec/).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import models_json_schema

from nerve.auth.api import WRITE_KEY
from nerve.errors import REJECTIONS, RejectionCode, response_document
from nerve.tracking.normalize import BATCH_PATHS, SINGLE_PATHS

_REF = "#/components/schemas/{model}"

_Id = Annotated[str, Field(max_length=255)]


class _Call(BaseModel):
    """The fields every call may carry (https://segment.com/docs/connections/spec/common/)."""

    # Heads may send any other field; it is stored with the message.
    model_config = ConfigDict(extra="allow")

    userId: _Id | None = Field(
        None, description="Your id of the person; numbers are stored as strings"
    )
    anonymousId: _Id | None = Field(
        None, description="The device's or browser's id; userId or anonymousId is required"
    )
    messageId: _Id | None = Field(
        None, description="Unique per message: a resent message is stored once per source"
    )
    timestamp: str | None = Field(
        None,
        description="When it happened (ISO 8601), by the device's clock; corrected by "
        "sentAt, as Segment does. Default: when Nerve received it",
        json_schema_extra={"format": "date-time"},
    )
    originalTimestamp: str | None = Field(
        None, description="Same as timestamp (its name in Segment's stored events)"
    )
    sentAt: str | None = Field(
        None,
        description="When the head sent it, by the device's clock (ISO 8601)",
        json_schema_extra={"format": "date-time"},
    )
    context: dict[str, Any] | None = Field(
        None,
        description="Where it happened: ip, library, locale, page, userAgent, timezone, "
        "traits ... (https://segment.com/docs/connections/spec/common/#context)",
    )
    integrations: dict[str, Any] | None = Field(
        None, description="Per-destination switches; stored, not interpreted"
    )
    writeKey: str | None = Field(
        None, description="The source's write key, when not sent as Basic-auth username"
    )


def _example(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [example]})


_AT = {"timestamp": "2026-11-02T10:00:00Z"}


class IdentifyCall(_Call):
    """Who the person is: traits such as email, phone, name."""

    model_config = _example(
        {"userId": "anna", "anonymousId": "a-phone", "traits": {"email": "anna@example.com"}} | _AT
    )

    type: Literal["identify"] = Field("identify", description="Optional: the path decides")
    traits: dict[str, Any] | None = Field(None, description="email, phone, firstName ...")


class TrackCall(_Call):
    """Something the person did."""

    model_config = _example(
        {
            "anonymousId": "a-phone",
            "event": "Product Added",
            "properties": {"product_id": "RUN-1", "category": "Running Shoes", "price": 120},
            "context": {"timezone": "Europe/Berlin"},
        }
        | _AT
    )

    type: Literal["track"] = Field("track", description="Optional: the path decides")
    event: Annotated[str, Field(min_length=1, max_length=255)] = Field(
        description="The action, e.g. Product Viewed, Order Completed"
    )
    properties: dict[str, Any] | None = Field(
        None, description="About the action, e.g. the e-commerce spec's product_id, total"
    )


class PageCall(_Call):
    """A page the person viewed on a website."""

    model_config = _example(
        {"anonymousId": "a-laptop", "name": "Running Shoes", "properties": {"path": "/running"}}
    )

    type: Literal["page"] = Field("page", description="Optional: the path decides")
    name: str | None = None
    category: str | None = None
    properties: dict[str, Any] | None = Field(None, description="url, path, title, referrer ...")


class ScreenCall(_Call):
    """A screen the person viewed in an app."""

    model_config = _example({"userId": "anna", "name": "Cart"})

    type: Literal["screen"] = Field("screen", description="Optional: the path decides")
    name: str | None = None
    category: str | None = None
    properties: dict[str, Any] | None = None


class GroupCall(_Call):
    """The person belongs to a group: a company, a household, an account."""

    model_config = _example({"userId": "anna", "groupId": "acme", "traits": {"plan": "b2b"}})

    type: Literal["group"] = Field("group", description="Optional: the path decides")
    groupId: _Id
    traits: dict[str, Any] | None = Field(None, description="About the group")


class AliasCall(_Call):
    """Another id of the same person (previousId) is now known by userId."""

    model_config = _example({"userId": "anna", "previousId": "guest-7"})

    type: Literal["alias"] = Field("alias", description="Optional: the path decides")
    previousId: _Id


SINGLE_CALLS: dict[str, type[_Call]] = {
    "identify": IdentifyCall,
    "track": TrackCall,
    "page": PageCall,
    "screen": ScreenCall,
    "group": GroupCall,
    "alias": AliasCall,
}


# Each message is one of the calls; here `type` is required and says which.
_BatchMessage = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "oneOf": [{"$ref": _REF.format(model=c.__name__)} for c in SINGLE_CALLS.values()],
            "required": ["type"],
        }
    ),
]


class BatchRequest(BaseModel):
    """Many calls in one request; `type` says what each is. A bad message is reported, the
    good ones are stored."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "batch": [
                        {"type": "identify", "userId": "anna", "traits": {"plan": "gold"}},
                        {"type": "track", "userId": "anna", "event": "Order Completed"},
                    ],
                    "sentAt": "2026-11-02T10:00:00Z",
                }
            ]
        },
    )

    batch: list[_BatchMessage] = Field(
        min_length=1, max_length=2500, description="The calls (at most 2500 by default)"
    )
    context: dict[str, Any] | None = Field(
        None, description="Merged into every message's context; the message's own wins"
    )
    integrations: dict[str, Any] | None = None
    sentAt: str | None = Field(
        None,
        description="When the head sent the batch, for messages without their own",
        json_schema_extra={"format": "date-time"},
    )
    writeKey: str | None = Field(
        None, description="The source's write key, when not sent as Basic-auth username"
    )


class TrackingSuccess(BaseModel):
    success: Literal[True]


class MessageError(BaseModel):
    code: RejectionCode
    message: str


class RejectedMessage(BaseModel):
    index: int = Field(description="Position in `batch`, from 0")
    messageId: Any = Field(description="The message's messageId as sent, if any")
    error: MessageError


class BatchResult(BaseModel):
    """All stored (`{"success": true}`), or some: then how many and which were not."""

    success: Literal[True]
    accepted: int | None = Field(None, description="Messages stored, when some were rejected")
    rejected: list[RejectedMessage] | None = Field(
        None, description="The messages that were not stored, and why"
    )


# Security scheme of the tracking operations in the OpenAPI document.
WRITE_KEY_SCHEME = {
    "type": "http",
    "scheme": "basic",
    "description": "The source's write key as the username, the password empty (Segment's "
    "convention); browsers may send it as `writeKey` in the body instead. "
    "From `nerve sources create`.",
}
_SUMMARIES = {
    "identify": "Identify: who the person is",
    "track": "Track: something the person did",
    "page": "Page: a page the person viewed",
    "screen": "Screen: an app screen the person viewed",
    "group": "Group: the person belongs to a group",
    "alias": "Alias: another id of the same person",
    "batch": "Batch: many calls at once",
    "import": "Import: many calls at once (same as batch)",
}
_ANALYTICS_JS = " (analytics.js short path)"


def openapi_paths() -> tuple[dict[str, Any], dict[str, Any]]:
    """The tracking operations and the component schemas they use, for the OpenAPI document
    (the routes are plain Starlette ones, which FastAPI does not describe)."""
    requests: list[type[BaseModel]] = [*SINGLE_CALLS.values(), BatchRequest]
    answers: list[type[BaseModel]] = [TrackingSuccess, BatchResult]
    _, top = models_json_schema(
        [(model, "validation") for model in requests]
        + [(model, "serialization") for model in answers],
        ref_template=_REF,
    )
    paths: dict[str, Any] = {}
    for path, call in SINGLE_PATHS.items():
        summary = _SUMMARIES[call] + ("" if path == call else _ANALYTICS_JS)
        body = SINGLE_CALLS[call].__name__
        paths[f"/v1/{path}"] = {"post": _operation(path, summary, body, TrackingSuccess, False)}
    for path in sorted(BATCH_PATHS):
        summary = _SUMMARIES.get(path, _SUMMARIES["batch"] + _ANALYTICS_JS)
        paths[f"/v1/{path}"] = {
            "post": _operation(path, summary, "BatchRequest", BatchResult, True)
        }
    return paths, top["$defs"]


def _operation(
    path: str, summary: str, body: str, answer: type[BaseModel], batch: bool
) -> dict[str, Any]:
    return {
        "tags": ["tracking"],
        "summary": summary,
        "description": "Segment's HTTP Tracking API. The body may be gzip- or deflate-"
        "compressed (Content-Encoding) and sent as text/plain, as analytics.js does.",
        "operationId": f"tracking_{path}",
        **WRITE_KEY,
        "security": [{"WriteKey": []}, {}],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": _REF.format(model=body)}}},
        },
        "responses": {
            "200": {
                "description": "Stored durably"
                + (": all messages, or those listed as accepted" if batch else ""),
                "content": {
                    "application/json": {"schema": {"$ref": _REF.format(model=answer.__name__)}}
                },
            },
            "400": response_document(400, _rejections(400, batch)),
            "401": response_document(401, _rejections(401, batch)),
            "408": response_document(408),
            "413": response_document(413, _rejections(413, batch)),
            "503": response_document(503),
        },
    }


def _rejections(status: int, batch: bool) -> str:
    codes = [f"`{code}`" for code, (given, _) in REJECTIONS.items() if given == status]
    if status == 400 and batch:
        codes.append("`invalid_request` (no message could be stored; details list each)")
    return "One of " + ", ".join(codes)
