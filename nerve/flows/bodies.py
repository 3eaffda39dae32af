"""Flow definitions as they arrive over HTTP: a JSON or a YAML body (what `nerve flows apply`
reads), bounded in size, parsed into data for validation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

from nerve.admin_routes import read_body
from nerve.errors import InvalidInput, InvalidJson, UnsupportedMediaType
from nerve.flows.definition import read

MAX_BYTES = 1024 * 1024  # a long flow is a few kilobytes
JSON = "application/json"
YAML = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


@dataclass(frozen=True)
class FlowBody:
    content: bytes
    content_type: str | None


async def flow_body(request: Request) -> FlowBody:
    """The dependency reading a flow body (parsed once the caller is known to be allowed)."""
    raw = await read_body(request, MAX_BYTES, "a flow definition")
    return FlowBody(raw, request.headers.get("content-type"))


def media_type(content_type: str | None) -> str:
    """JSON (also without a Content-Type, and `+json` types) or one of the YAML types."""
    media = (content_type or JSON).split(";")[0].strip().lower()
    if media == JSON or media.endswith("+json"):
        return JSON
    if media in YAML:
        return media
    raise UnsupportedMediaType(f"send the flow as {JSON} or {YAML[0]}, not {media}")


def data_of(body: bytes, media: str) -> dict[str, Any]:
    """The body as data: invalid JSON is a 400 `invalid_json`; invalid YAML raises InvalidFlow
    naming `(file)`, as `nerve flows apply` reports it."""
    if media == JSON:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise InvalidJson(f"the body is not valid JSON: {exc}") from None
    else:
        try:
            data = read(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise InvalidInput("a YAML body must be UTF-8") from None
    if not isinstance(data, dict):
        raise InvalidInput("the body must be one flow definition (a mapping of its fields)")
    return data
