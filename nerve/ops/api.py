"""`GET /healthz` and `GET /metrics` (behind a bearer token when NERVE_METRICS_TOKEN is set)."""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from fastapi import APIRouter, Depends, Request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Metric, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from nerve import metrics
from nerve.admin_routes import AdminRoute
from nerve.auth.api import PUBLIC
from nerve.db.session import Db
from nerve.errors import Unauthorized, Unavailable, documented
from nerve.flows import backlog
from nerve.ops.schemas import Health

router = APIRouter(tags=["operations"], route_class=AdminRoute)


def _database_ok(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


@router.get(
    "/healthz", response_model=Health, responses=documented(Unavailable), openapi_extra=PUBLIC
)
async def healthz(request: Request) -> dict[str, str]:
    try:
        await run_in_threadpool(_database_ok, request.app.state.engine)
    except Exception as exc:
        raise Unavailable("the database is unreachable", details=str(exc)) from exc
    return {"status": "ok"}


def _metrics_token(request: Request) -> None:
    """With NERVE_METRICS_TOKEN set, a scrape must send it (Prometheus: `authorization:
    {credentials: <token>}`): the gauges tell outsiders how busy the shop is. Read by hand, not
    as a security scheme: the route stays public in the document unless an operator sets it."""
    expected = request.app.state.settings.metrics_token.get_secret_value()
    if not expected:
        return
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        presented = ""
    # Constant time, so the token cannot be guessed a character at a time from response times.
    if not hmac.compare_digest(presented.strip().encode(), expected.encode()):
        raise Unauthorized("send the metrics token as `Authorization: Bearer <token>`")


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus metrics (with NERVE_METRICS_TOKEN set: send it as a "
            "bearer token)",
            "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
        }
    },
    openapi_extra=PUBLIC,
    dependencies=[Depends(_metrics_token)],
)
def prometheus_metrics(db: Db) -> Response:
    """Metrics in the Prometheus text format, for scraping."""
    return Response(
        metrics.exposition() + generate_latest(_DatabaseGauges(backlog.gauges(db))),
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
