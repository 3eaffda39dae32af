"""`GET /healthz` and `GET /metrics` (behind a bearer token when NERVE_METRICS_TOKEN is set)."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Metric, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from nerve.auth.api import PUBLIC
from nerve.db.session import Db
from nerve.errors import Unauthorized, Unavailable
from nerve.flows import backlog

router = APIRouter(tags=["operations"])


def _database_ok(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


@router.get("/healthz", openapi_extra=PUBLIC)
async def healthz(request: Request) -> dict[str, str]:
    try:
        await run_in_threadpool(_database_ok, request.app.state.engine)
    except Exception as exc:
        raise Unavailable("the database is unreachable", details=str(exc)) from exc
    return {"status": "ok"}


_bearer = HTTPBearer(auto_error=False)


def _metrics_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """With NERVE_METRICS_TOKEN set, a scrape must send it (Prometheus: `authorization:
    {credentials: <token>}`): the gauges tell outsiders how busy the shop is."""
    expected = request.app.state.settings.metrics_token.get_secret_value()
    if not expected:
        return
    presented = credentials.credentials if credentials is not None else ""
    # Constant time, so the token cannot be guessed a character at a time from response times.
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise Unauthorized("send the metrics token as `Authorization: Bearer <token>`")


@router.get("/metrics", include_in_schema=False, dependencies=[Depends(_metrics_token)])
def prometheus_metrics(db: Db) -> Response:
    return Response(
        generate_latest() + generate_latest(_DatabaseGauges(backlog.gauges(db))),
        media_type=CONTENT_TYPE_LATEST,
    )


class _DatabaseGauges(CollectorRegistry):
    """This scrape's readings from the database, in the exposition format."""

    def __init__(self, readings: dict[str, tuple[str, float]]) -> None:
        super().__init__(auto_describe=False)
        self._readings = readings

    def collect(self) -> Iterator[Metric]:
        for name, (documentation, value) in self._readings.items():
            yield GaugeMetricFamily(name, documentation, value=value)
