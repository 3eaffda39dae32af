"""`GET /healthz` and `GET /metrics`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from nerve.errors import Unavailable

router = APIRouter(tags=["operations"])


def _database_ok(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, str]:
    try:
        await run_in_threadpool(_database_ok, request.app.state.engine)
    except Exception as exc:
        raise Unavailable("the database is unreachable", details=str(exc)) from exc
    return {"status": "ok"}


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
