"""Tracking routes: `/v1/{identify,track,page,screen,group,alias,batch,import}` and short paths.

Plain Starlette endpoints (no FastAPI dependency solving) because this is the hottest path.
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nerve import metrics
from nerve.errors import InvalidInput, Rejected, error_response
from nerve.tracking import service
from nerve.tracking.normalize import Limits
from nerve.workspaces.service import SourceInfo

_SUCCESS = orjson.dumps({"success": True})


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Rejected("request_too_large", f"the body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Rejected("request_too_large", f"the body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _source(request: Request, body_key: object) -> SourceInfo:
    write_key = service.write_key_from_basic_auth(request.headers.get("authorization"))
    if write_key is None and isinstance(body_key, str) and body_key:
        write_key = body_key
    if write_key is None:
        raise Rejected(
            "missing_write_key", "send the write key as Basic-auth username or `writeKey`"
        )
    keys: service.WriteKeys = request.app.state.write_keys
    hit, source = keys.cached(write_key)
    if not hit:
        source = await run_in_threadpool(keys.load, write_key)
    if source is None:
        raise Rejected("invalid_write_key", "unknown write key")
    return source


def _rejection_response(exc: Rejected) -> Response:
    metrics.EVENTS_REJECTED.labels(exc.code).inc()
    return error_response(exc)


async def track(request: Request) -> Response:
    received_at = datetime.now(UTC)
    limits: Limits = request.app.state.limits
    path = request.path_params["path"]
    try:
        raw = await _read_limited(request, limits.max_request_bytes)
        is_batch, body = service.read_request(
            path, raw, request.headers.get("content-encoding"), limits
        )
        source = await _source(request, body.get("writeKey"))
        rows, result = service.build_rows(path, is_batch, body, source, received_at, limits)
    except Rejected as exc:
        return _rejection_response(exc)
    if not rows:
        return error_response(
            InvalidInput("no message in the batch could be accepted", details=result.rejected)
        )
    await service.store(request.app.state.event_writer, rows, result)
    if not result.rejected:
        return Response(_SUCCESS, media_type="application/json")
    return Response(
        orjson.dumps({"success": True, "accepted": result.accepted, "rejected": result.rejected}),
        media_type="application/json",
    )


async def ping(request: Request) -> Response:
    """Answers like a tracking call but stores nothing: the benchmarks' bare baseline."""
    await request.body()
    return Response(_SUCCESS, media_type="application/json")


routes = [
    Route("/v1/ping", ping, methods=["POST"]),
    Route("/v1/{path}", track, methods=["POST"]),
]
