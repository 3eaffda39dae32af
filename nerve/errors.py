"""Domain errors with stable codes, and their one mapping to HTTP responses.

Every error Nerve reports is a `NerveError` subclass defined here; its `code` is part of the
interface contract and listed in the OpenAPI document's `Error` schema. Services raise these;
`error_response` is the only translation to HTTP, and `as_nerve_error` turns what the framework
raises (validation, routing) and anything unexpected into one of them first.
The class docstring is the default message.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import structlog

from nerve import numbers

if TYPE_CHECKING:  # the HTTP half is imported when used: the CLI raises these errors too
    from starlette.responses import Response
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)


class NerveError(Exception):
    """Something went wrong on our side."""

    code: str = "internal_error"
    status: int = 500

    def __init__(self, message: str | None = None, details: Any = None) -> None:
        self.message = message or (self.__doc__ or self.code).strip()
        self.details = details
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        # The contract's shape has all three keys, `details` null when there are none.
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidInput(NerveError):
    """The request is invalid."""

    code = "invalid_request"
    status = 400


class InvalidJson(InvalidInput):
    """The body is not valid JSON."""

    code = "invalid_json"


class InvalidFlow(InvalidInput):
    """The flow is invalid."""

    code = "invalid_flow"

    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__("the flow is invalid", details=problems)
        self.problems = problems

    def __str__(self) -> str:
        # Logs and dead letters say what is wrong, not only that something is.
        return "; ".join(f"{p['path']}: {p['reason']}" for p in self.problems)


class InvalidTemplate(InvalidInput):
    """The message template is invalid: each problem with where it is (part, line:column)."""

    code = "invalid_template"

    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__("the template is invalid", details=problems)
        self.problems = problems

    def __str__(self) -> str:
        return "; ".join(f"{p['path']}: {p['reason']}" for p in self.problems)


class InvalidSlot(InvalidInput):
    """The personalization slot is invalid: each problem with where it is."""

    code = "invalid_slot"

    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__("the slot is invalid", details=problems)
        self.problems = problems

    def __str__(self) -> str:
        return "; ".join(f"{p['path']}: {p['reason']}" for p in self.problems)


class InvalidSegment(InvalidInput):
    """The segment definition is invalid: each problem with its path and reason."""

    code = "invalid_segment"

    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__("the segment is invalid", details=problems)
        self.problems = problems

    def __str__(self) -> str:
        return "; ".join(f"{p['path']}: {p['reason']}" for p in self.problems)


class UnsupportedMediaType(NerveError):
    """The body is in a format this endpoint does not read."""

    code = "unsupported_media_type"
    status = 415


class Unauthorized(NerveError):
    """Missing or unknown credentials."""

    code = "unauthorized"
    status = 401


class Forbidden(NerveError):
    """These credentials may not do that."""

    code = "forbidden"
    status = 403


class NotFound(NerveError):
    """Not found."""

    code = "not_found"
    status = 404


class MethodNotAllowed(NerveError):
    """This resource does not answer that HTTP method."""

    code = "method_not_allowed"
    status = 405


class RequestTimeout(NerveError):
    """The request did not arrive in time (its head or its body came too slowly); the
    connection is closed. Send it again."""

    code = "request_timeout"
    status = 408


class Conflict(NerveError):
    """The request conflicts with the current state."""

    code = "conflict"
    status = 409


class Gone(NerveError):
    """It was valid once and is no longer (an expired link)."""

    code = "gone"
    status = 410


class PayloadTooLarge(NerveError):
    """The request body is too large."""

    code = "payload_too_large"
    status = 413


class HeaderTooLarge(NerveError):
    """The request's head (request line and headers) is too large; the connection is closed."""

    code = "header_too_large"
    status = 431


class RateLimited(NerveError):
    """Too many requests."""

    code = "rate_limited"
    status = 429


class Unavailable(NerveError):
    """The service cannot take this request right now; retry later."""

    code = "unavailable"
    status = 503


class HttpError(NerveError):
    """The request could not be served (an HTTP status no other code names)."""

    code = "http_error"

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class DemoError(NerveError):
    """The demo cannot run."""

    code = "demo_failed"


# Why the Tracking API refuses a message or a whole request. The codes are Nerve's own (Segment
# answers 200 to almost anything), stable, and reported per message in a batch's `rejected`.
RejectionCode = Literal[
    "missing_write_key",
    "invalid_write_key",
    "invalid_authorization",
    "not_found",
    "request_too_large",
    "event_too_large",
    "too_many_events",
    "unsupported_encoding",
    "invalid_encoding",
    "invalid_json",
    "invalid_batch",
    "invalid_field",
    "invalid_message",
    "invalid_type",
    "no_user_anon_id",
    "missing_event",
    "invalid_event",
    "missing_previous_id",
    "missing_group_id",
    "invalid_identifier",
    "invalid_timestamp",
    "invalid_character",
    "too_deeply_nested",
]

REJECTIONS: dict[RejectionCode, tuple[int, str]] = {
    "missing_write_key": (401, "No write key: send it as the Basic-auth username or `writeKey`."),
    "invalid_write_key": (401, "No source has this write key."),
    "invalid_authorization": (401, "The Basic-auth credentials are malformed."),
    "not_found": (404, "There is no tracking endpoint at this path."),
    "request_too_large": (413, "The request body exceeds the request size limit."),
    "event_too_large": (413, "A message exceeds the message size limit (32 KiB by default)."),
    "too_many_events": (413, "The batch holds more messages than allowed (2500 by default)."),
    "unsupported_encoding": (400, "The Content-Encoding is not gzip, deflate or identity."),
    "invalid_encoding": (400, "The body does not decode with its Content-Encoding."),
    "invalid_json": (400, "The body is empty, not JSON, or not a JSON object."),
    "invalid_batch": (400, "`batch` is missing, not an array, or empty."),
    "invalid_field": (400, "properties, traits, context or integrations is not an object."),
    "invalid_message": (400, "A message is not a JSON object, or holds a value JSON cannot."),
    "invalid_type": (400, "`type` is not identify, track, page, screen, group or alias."),
    "no_user_anon_id": (400, "The message has neither userId nor anonymousId."),
    "missing_event": (400, "A track call has no event name in `event`."),
    "invalid_event": (400, "The event name is longer than 255 characters."),
    "missing_previous_id": (400, "An alias call has no `previousId`."),
    "missing_group_id": (400, "A group call has no `groupId`."),
    "invalid_identifier": (400, "An id is not a string or number, or longer than 255 characters."),
    "invalid_timestamp": (400, "A time is not an ISO 8601 string, or out of range."),
    "invalid_character": (400, "The message contains a NUL (\\u0000) character."),
    "too_deeply_nested": (400, "Objects and arrays in the message nest too deep."),
}


class Rejected(NerveError):
    """A tracking message (or a whole tracking request) that cannot be accepted."""

    def __init__(self, code: RejectionCode, message: str | None = None) -> None:
        self.status, meaning = REJECTIONS[code]
        self.code = code
        super().__init__(message or meaning)


def error_classes() -> list[type[NerveError]]:
    """NerveError and every subclass of it, depth first."""
    found: list[type[NerveError]] = [NerveError]
    for cls in found:
        found.extend(cls.__subclasses__())
    return found


def codes() -> dict[str, str]:
    """Every error code with what it means: the list the contract promises."""
    listed = {
        cls.code: (cls.__doc__ or "").strip()
        for cls in error_classes()
        if cls is not Rejected  # its codes are listed one by one, below
    }
    for code, (_, meaning) in REJECTIONS.items():
        listed.setdefault(code, meaning)
    return listed


def error_schema() -> dict[str, Any]:
    """The one JSON Schema of every error body, for the OpenAPI document."""
    listed = codes()
    return {
        "title": "Error",
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "additionalProperties": False,
                "properties": {
                    "code": {
                        "type": "string",
                        "enum": sorted(listed),
                        "description": "Stable, for programs: "
                        + "; ".join(f"`{code}`: {listed[code]}" for code in sorted(listed)),
                    },
                    "message": {"type": "string", "description": "For people; may change"},
                    "details": {
                        "description": "What exactly was wrong (per code), null when nothing "
                        "more is known; `request_id` for internal errors"
                    },
                },
            }
        },
    }


def documented(*errors: type[NerveError]) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route for errors it raises beyond those its kind of route gives anyway
    (input, credentials, an id in the path: nerve/openapi.py adds those), in the Error schema."""
    return {cls.status: response_document(cls.status) for cls in errors}


def response_document(status: int, description: str | None = None) -> dict[str, Any]:
    """The OpenAPI response object of one error status."""
    known = _BY_STATUS.get(status)
    meaning = (known.__doc__ or "").strip() if known else "Error"
    return {
        "description": description or meaning,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def as_nerve_error(exc: BaseException) -> NerveError:
    """What the framework raises, as the domain error that says the same."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    if isinstance(exc, NerveError):
        return exc
    if isinstance(exc, RequestValidationError):
        details = [
            {"location": list(e["loc"]), "message": _reason(e), "type": e["type"]}
            for e in exc.errors()
        ]
        return InvalidInput("the request is invalid", details=_jsonable(details))
    if isinstance(exc, HTTPException):
        if exc.status_code == 404:
            return NotFound("no such resource")
        known = _BY_STATUS.get(exc.status_code)
        if known is not None:
            return known(str(exc.detail))
        return HttpError(str(exc.detail), exc.status_code)
    return NerveError("an unexpected error occurred; it is logged under this request id")


_BY_STATUS: dict[int, type[NerveError]] = {
    cls.status: cls
    for cls in (
        InvalidInput,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        RequestTimeout,
        Conflict,
        PayloadTooLarge,
        HeaderTooLarge,
        RateLimited,
        Unavailable,
    )
}


def error_body(error: NerveError) -> bytes:
    # numbers.dumps: details may echo what a client sent, an integer beyond 64 bits included
    # (a rejected batch's messageIds; orjson alone refused it and the answer became a 500).
    return numbers.dumps({"error": error.as_dict()})


def error_response(error: NerveError, headers: Mapping[str, str] | None = None) -> Response:
    """The one mapping of an error to HTTP: its status, the contract's JSON shape."""
    from starlette.responses import Response

    return Response(
        error_body(error),
        status_code=error.status,
        media_type="application/json",
        headers=headers,
    )


def response_to(exc: BaseException, scope: Scope) -> Response:
    """The answer to a request that raised `exc`. An internal error is logged here, once, with
    its traceback, under the request id its answer names."""
    from starlette.exceptions import HTTPException

    error = as_nerve_error(exc)
    headers = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}
    if error.status == 500:
        request_id = _request_id(scope)
        _log_failure(exc, scope, request_id)
        error.details = {"request_id": request_id}
        headers["X-Request-ID"] = request_id
    return error_response(error, headers=headers)


def _log_failure(exc: BaseException, scope: Scope, request_id: str) -> None:
    log.error(
        "request_failed",
        request_id=request_id,
        method=scope.get("method"),
        path=scope.get("path"),
        exc_info=exc,
    )


class UnexpectedErrors:
    """Any exception no handler took becomes a JSON 500 in the contract's shape, logged once
    with its traceback under the request id the response names (Starlette's own last resort
    answers text/plain and re-raises, so the server would log it a second time). A client
    that hung up is not an error: there is no one to answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        from starlette.requests import ClientDisconnect

        try:
            await self.app(scope, receive, send_noting_start)
        except ClientDisconnect:
            # The client hung up mid-body (or the server gave up on it and answered 408): no
            # one to answer, nothing broken. nerve/server/protocol.py logs it, in one line.
            return
        except Exception as exc:
            if started:  # too late for an answer of ours: the client sees the response cut
                _log_failure(exc, scope, _request_id(scope))
                return
            await response_to(exc, scope)(scope, receive, send)


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _request_id(scope: Scope) -> str:
    """The proxy's X-Request-ID when it is a sane one (so logs correlate), else a new one."""
    for name, value in scope.get("headers") or ():
        if name == b"x-request-id":
            given: str = value.decode("latin-1")
            if _REQUEST_ID.match(given):
                return given
    return uuid.uuid4().hex


def _reason(error: Mapping[str, Any]) -> str:
    """The validation message; for a body that is not JSON, also what the parser said."""
    said = (error.get("ctx") or {}).get("error")
    if error["type"] == "json_invalid" and isinstance(said, str):
        return f"{error['msg']}: {said}"
    return str(error["msg"])


def _jsonable(value: Any) -> Any:
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
