"""Tracking routes: `/v1/{identify,track,page,screen,group,alias,batch,import}` and short paths.

Plain Starlette endpoints (no FastAPI dependency solving) because this is the hottest path;
nerve/tracking/schemas.py describes them in the OpenAPI document.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from functools import partial

import orjson
import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Scope

from nerve import metrics, numbers
from nerve.errors import InvalidInput, Rejected, error_response
from nerve.privacy.suppression import Suppressed, Suppression
from nerve.tracking import service
from nerve.tracking.normalize import BATCH_PATHS, SINGLE_PATHS, Limits
from nerve.workspaces.service import SourceInfo

log = structlog.get_logger(__name__)
_SUCCESS = orjson.dumps({"success": True})
MAX_WRITE_KEY_LENGTH = 64  # the sources.write_key column


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


async def write_key_source(request: Request, body_key: object) -> SourceInfo:
    """The source whose write key the request carries (Basic auth, or `writeKey` in the body)."""
    write_key = service.write_key_from_basic_auth(request.headers.get("authorization"))
    if write_key is None and isinstance(body_key, str) and body_key:
        write_key = body_key
    if write_key is None:
        raise Rejected(
            "missing_write_key", "send the write key as Basic-auth username or `writeKey`"
        )
    if len(write_key) > MAX_WRITE_KEY_LENGTH or "\x00" in write_key:
        # No source has such a key; PostgreSQL could not even be asked (no NUL in text).
        raise Rejected("invalid_write_key", "unknown write key")
    keys: service.WriteKeys = request.app.state.write_keys
    hit, source = keys.cached(write_key)
    if not hit:
        source = await run_in_threadpool(keys.load, write_key)
    if source is None:
        raise Rejected("invalid_write_key", "unknown write key")
    return source


async def _suppressed(request: Request, workspace_id: str) -> Suppressed:
    """The workspace's erased identifiers. A copy that is due is used once more while it is read
    again in the background, so no request waits for that read; only the first (and the first
    after an erasure in this process) does."""
    suppression: Suppression = request.app.state.suppression
    found, due = suppression.copy(workspace_id)
    if found is None:
        return await run_in_threadpool(suppression.load, workspace_id)
    if due:
        refresh = asyncio.create_task(run_in_threadpool(suppression.load, workspace_id))
        _REFRESHING.add(refresh)
        refresh.add_done_callback(_refreshed)
    return found


_REFRESHING: set[asyncio.Task[Suppressed]] = set()


def _refreshed(task: asyncio.Task[Suppressed]) -> None:
    _REFRESHING.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("suppression_refresh_failed", error=str(task.exception()))


def _rejection_response(exc: Rejected) -> Response:
    metrics.EVENTS_REJECTED.labels(exc.code).inc()
    return error_response(exc)


async def track(path: str, request: Request) -> Response:
    received_at = datetime.now(UTC)
    limits: Limits = request.app.state.limits
    try:
        raw = await _read_limited(request, limits.max_request_bytes)
        is_batch, body = service.read_request(
            path, raw, request.headers.get("content-encoding"), limits
        )
        source = await write_key_source(request, body.get("writeKey"))
        suppressed = await _suppressed(request, source.workspace_id)
        rows, result = service.build_rows(
            path, is_batch, body, source, received_at, limits, suppressed
        )
    except Rejected as exc:
        return _rejection_response(exc)
    if not rows and not result.suppressed:
        return error_response(
            InvalidInput("no message in the batch could be accepted", details=result.rejected)
        )
    if rows:
        await service.store(request.app.state.event_writer, rows, result)
    if result.consented:
        suppression: Suppression = request.app.state.suppression
        await run_in_threadpool(suppression.consent, source.workspace_id, result.consented)
    if not result.rejected:
        return Response(_SUCCESS, media_type="application/json")
    # numbers.dumps: a rejected message's messageId is echoed as sent, an integer beyond 64
    # bits included (orjson alone refused it, and the answer became a 500).
    return Response(
        numbers.dumps({"success": True, "accepted": result.accepted, "rejected": result.rejected}),
        media_type="application/json",
    )


async def unknown_path(request: Request) -> Response:
    path = request.path_params["path"]
    return _rejection_response(Rejected("not_found", f"/v1/{path} is not a tracking endpoint"))


class _NamedRoute(Route):
    """A route that names itself in the scope as FastAPI's routes do, so request metrics are
    labelled by its path (`/v1/track`), and any unknown path by `/v1/{path}`: one label each,
    never the raw path."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope


routes = [
    *(
        _NamedRoute(f"/v1/{path}", partial(track, path), methods=["POST"], name=f"track_{path}")
        for path in (*SINGLE_PATHS, *sorted(BATCH_PATHS))
    ),
    _NamedRoute("/v1/{path}", unknown_path, methods=["POST"]),
]
