"""`GET /healthz` and `GET /metrics`."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Metric, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from nerve.admin_routes import AdminRoute
from nerve.auth.api import PUBLIC
from nerve.db.session import Db
from nerve.errors import Unavailable, documented
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


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus metrics",
            "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
        }
    },
    openapi_extra=PUBLIC,
)
def prometheus_metrics(db: Db) -> Response:
    """Metrics in the Prometheus text format, for scraping."""
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
