"""`/api/v1/suppressions` (the suppression list: read, exported and imported as CSV, an address
taken off) and `/api/v1/feedback` (bounces and complaints from a relay, as JSON or as the DSN
or ARF mail itself)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from pydantic import TypeAdapter, ValidationError
from starlette.responses import StreamingResponse

from nerve.admin_routes import AdminRoute, read_body
from nerve.auth.api import requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.channels import feedback, suppressions
from nerve.channels.suppression_schemas import (
    FeedbackReport,
    FeedbackResult,
    FeedbackResults,
    ImportResult,
    NewSuppression,
    Reason,
    RemovedSuppression,
    SuppressionList,
    inline_schema,
)
from nerve.db.session import Db, WriteDb
from nerve.errors import (
    InvalidInput,
    InvalidJson,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    documented,
)

router = APIRouter(prefix="/api/v1", tags=["suppressions"], route_class=AdminRoute)
Reader = Annotated[Principal, requires(Permission.SUPPRESSIONS_READ)]
Writer = Annotated[Principal, requires(Permission.SUPPRESSIONS_WRITE)]
Relay = Annotated[Principal, requires(Permission.FEEDBACK_WRITE)]

CSV = "text/csv"
JSON = "application/json"
MAIL = "message/rfc822"
MAX_IMPORT_BYTES = 32 * 1024 * 1024  # a million addresses; the CLI imports larger files
MAX_REPORTS = 1000
_HASH = "^[0-9a-fA-F]{64}$"


@dataclass(frozen=True)
class Body:
    content: bytes
    media_type: str


async def _read(request: Request, limit: int) -> Body:
    media = (request.headers.get("content-type") or JSON).split(";")[0].strip().lower()
    return Body(await read_body(request, limit), media)


async def _import_body(request: Request) -> Body:
    return await _read(request, MAX_IMPORT_BYTES)


async def _report_body(request: Request) -> Body:
    return await _read(request, feedback.MAX_BYTES)


@router.get("/suppressions", response_model=SuppressionList)
def list_suppressions(
    db: Db,
    key: Reader,
    reason: Reason | None = None,
    email: Annotated[
        str | None, Query(max_length=320, description="Is this address listed?")
    ] = None,
    address_hash: Annotated[str | None, Query(pattern=_HASH)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """The suppression list, newest first. Addresses are listed by their keyed hash, never in
    the clear: look one up with `email`."""
    rows, next_cursor = suppressions.listed(
        db,
        key.workspace_id,
        reason=reason,
        email=email,
        address_hash=address_hash,
        limit=limit,
        cursor=cursor,
    )
    return {"data": rows, "next_cursor": next_cursor}


@router.get(
    "/suppressions.csv",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The whole list as CSV (RFC 4180): address_hash, channel, reason, "
            "detail, created_at",
            "content": {CSV: {"schema": {"type": "string"}}},
        }
    },
)
def export_suppressions(request: Request, key: Reader) -> StreamingResponse:
    """The whole suppression list as CSV, to keep or to hand to another system that hashes
    addresses the same way (it holds no address in the clear)."""
    services = request.app.state.services

    def rows() -> Iterator[str]:
        with services.read() as conn:
            yield from suppressions.as_csv(suppressions.exported(conn, key.workspace_id))

    return StreamingResponse(
        rows(),
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="suppressions.csv"'},
    )


_IMPORT: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "CSV with a header naming `email` (or `address`) and optionally "
        "`reason` (hard_bounce, complaint, unsubscribed, manual: the default) and `detail`; "
        "or JSON",
        "content": {
            CSV: {
                "schema": {"type": "string"},
                "example": "email,reason,detail\nanna@example.com,hard_bounce,from the old ESP\n",
            },
            JSON: {
                "schema": {
                    "type": "object",
                    "required": ["entries"],
                    "properties": {
                        "entries": {"type": "array", "items": inline_schema(NewSuppression)}
                    },
                }
            },
        },
    }
}


@router.post(
    "/suppressions",
    response_model=ImportResult,
    openapi_extra=_IMPORT,
    responses=documented(PayloadTooLarge, UnsupportedMediaType),
)
def import_suppressions(
    key: Writer, body: Annotated[Body, Depends(_import_body)], db: WriteDb
) -> dict[str, Any]:
    """Add addresses to the list, from CSV or JSON. Good lines apply; each refused line is
    reported with its line number (or index) and why. 400, with every refusal, when no line is
    valid."""
    if body.media_type in (CSV, "application/csv", "text/plain"):
        try:
            text = body.content.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("the CSV is not UTF-8") from None
        if "\x00" in text:
            raise InvalidInput("the CSV may not contain NUL characters")
        entries, rejected = suppressions.read_csv(text)
    elif body.media_type == JSON or body.media_type.endswith("+json"):
        entries, rejected = suppressions.read_json(_json(body.content))
    else:
        raise UnsupportedMediaType(f"send the list as {CSV} or {JSON}, not {body.media_type}")
    imported = suppressions.add(db, key.workspace_id, entries, rejected, actor=key.key_id)
    return {"imported": imported.imported, "unchanged": imported.unchanged,
            "rejected": imported.rejected}  # fmt: skip


@router.delete("/suppressions", response_model=RemovedSuppression, responses=documented(NotFound))
def remove_suppression(
    db: WriteDb,
    key: Writer,
    email: Annotated[str | None, Query(max_length=320)] = None,
    address_hash: Annotated[str | None, Query(pattern=_HASH)] = None,
    reason: Reason | None = None,
) -> dict[str, Any]:
    """Take one address off the list — by `email` or by its `address_hash` — for every reason,
    or for `reason` only (support taking back a bounce that was the receiving server's
    mistake). Recorded in the audit log. 404 when it is not listed."""
    removed_hash, reasons = suppressions.remove(
        db,
        key.workspace_id,
        email=email,
        address_hash=address_hash,
        reason=reason,
        actor=key.key_id,
    )
    return {"address_hash": removed_hash, "reasons": reasons}


_REPORTS = TypeAdapter(FeedbackReport | list[FeedbackReport])
_FEEDBACK: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A report as JSON (or a list of them), or the bounce (DSN, RFC 3464) "
        "or abuse report (ARF, RFC 5965) mail itself",
        "content": {
            JSON: {
                "schema": {
                    "oneOf": [
                        inline_schema(FeedbackReport),
                        {
                            "type": "array",
                            "items": inline_schema(FeedbackReport),
                            "maxItems": MAX_REPORTS,
                        },
                    ]
                },
                "example": {
                    "type": "bounce",
                    "email": "anna@example.com",
                    "permanent": True,
                    "detail": "550 5.1.1 user unknown",
                },
            },
            MAIL: {"schema": {"type": "string"}},
        },
    }
}


@router.post(
    "/feedback",
    response_model=FeedbackResults,
    openapi_extra=_FEEDBACK,
    tags=["feedback"],
    responses=documented(PayloadTooLarge, UnsupportedMediaType),
)
def post_feedback(
    key: Relay, body: Annotated[Body, Depends(_report_body)], db: WriteDb
) -> FeedbackResults:
    """Bounces and complaints from the relay that sends the mail (Postmark, SES, an MTA): a
    hard bounce suppresses the address (`hard_bounce`) and marks its message `bounced`, a
    complaint suppresses it (`complaint`) and marks it `complained`, a soft bounce is only
    logged. The same report twice changes nothing more."""
    if body.media_type in (MAIL, "message/global"):
        reports = feedback.parse(body.content)
    elif body.media_type == JSON or body.media_type.endswith("+json"):
        try:
            given = _REPORTS.validate_python(_json(body.content))
        except ValidationError as exc:
            raise InvalidInput("the report is invalid", details=_problems(exc)) from None
        listed = given if isinstance(given, list) else [given]
        if len(listed) > MAX_REPORTS:
            raise InvalidInput(f"at most {MAX_REPORTS} reports a request")
        reports = [feedback.Feedback(r.type, r.email, r.permanent, r.message_id, r.detail)
                   for r in listed]  # fmt: skip
    else:
        raise UnsupportedMediaType(f"send the report as {JSON} or {MAIL}, not {body.media_type}")
    applied = [feedback.apply(db, key.workspace_id, report) for report in reports]
    return FeedbackResults(
        data=[
            FeedbackResult(
                type=a.feedback.type,
                permanent=a.feedback.permanent,
                outcome=a.outcome,
                message_id=feedback.message_id_of(a.feedback.message_id),
                message=a.message,
            )
            for a in applied
        ]
    )


def _json(content: bytes) -> Any:
    if b"\\u0000" in content:  # text with NUL cannot be stored (nerve/admin_routes.py)
        raise InvalidJson("text may not contain NUL (\\u0000) characters")
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise InvalidJson(f"the body is not valid JSON: {exc}") from None


def _problems(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"location": list(e["loc"]), "message": e["msg"]} for e in exc.errors()[:50]]
