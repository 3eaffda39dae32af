"""Domain errors with stable codes, and their one mapping to HTTP responses.

Services raise these; `app.py` installs `error_response` as the only translation to HTTP.
The class docstring is the default message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response


class NerveError(Exception):
    """Something went wrong."""

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


class PayloadTooLarge(NerveError):
    """The request body is too large."""

    code = "payload_too_large"
    status = 413


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


class Conflict(NerveError):
    """The request conflicts with the current state."""

    code = "conflict"
    status = 409


class RateLimited(NerveError):
    """Too many requests."""

    code = "rate_limited"
    status = 429


class Unavailable(NerveError):
    """The service cannot take this request right now; retry later."""

    code = "unavailable"
    status = 503


def error_body(error: NerveError) -> bytes:
    return orjson.dumps({"error": error.as_dict()})


def error_response(error: NerveError, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        error_body(error),
        status_code=error.status,
        media_type="application/json",
        headers=headers,
    )
