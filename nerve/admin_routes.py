"""The route class of every admin router: input that cannot be stored or searched is refused
before the route runs, as the Tracking API refuses it.

Python's json module takes NaN, Infinity and lone UTF-16 surrogates ("\\ud800"), and text may
hold NUL (`%00` in a path or query, "\\u0000" in a body); none of these can be stored or looked
up (orjson writes the JSON columns; PostgreSQL keeps no NUL in text or JSONB), so such a request
failed with a 500 after validation had passed. Bodies are parsed with orjson, which refuses the
first three; NUL is refused wherever it comes: a 400 `invalid_request`, or in a path, where
it names no resource, a 404.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from nerve import numbers
from nerve.errors import InvalidInput, NotFound, PayloadTooLarge

_NUL = "\x00"


class _StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            document = orjson.loads(body)  # its JSONDecodeError is json's: FastAPI maps it
            if _holds_nul(document):
                raise json.JSONDecodeError(
                    "text may not contain NUL (\\u0000) characters", body.decode(), 0
                )
            self._json = document
        return self._json


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return _NUL in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


class AdminRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def refusing_unstorable_input(request: Request) -> Response:
            if _NUL in request.scope["path"]:
                raise NotFound("no such resource")  # no id holds a NUL
            if any(_NUL in k + v for k, v in request.query_params.multi_items()):
                raise InvalidInput("the query may not contain NUL (%00) characters")
            return await handler(_StrictJsonRequest(request.scope, request.receive))

        return refusing_unstorable_input


def exact_json(model: BaseModel, *, exclude_unset: bool = False) -> Response:
    """A body with the numbers of stored events as they were sent (`nerve.numbers`).

    FastAPI's own serialisation writes a `Decimal` as a string; a route that shows what heads
    sent returns this instead, keeping its `response_model` for the OpenAPI document.
    """
    content = model.model_dump(mode="python", exclude_unset=exclude_unset)
    body = numbers.dumps(content, option=orjson.OPT_UTC_Z)
    return Response(body, media_type="application/json")


async def read_body(request: Request, limit: int, what: str = "the body") -> bytes:
    """A route's raw body, refused with 413 as soon as it grows past `limit` (not after
    reading it all)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"{what} is at most {limit:,} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"{what} is at most {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
