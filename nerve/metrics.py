"""Prometheus metrics, one registry for the process, and the request-latency middleware."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    Metric,
    generate_latest,
    multiprocess,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

EVENTS_ACCEPTED = Counter(
    "nerve_events_accepted_total", "Tracking messages stored (after deduplication)", ["type"]
)
EVENTS_REJECTED = Counter(
    "nerve_events_rejected_total", "Tracking messages rejected, by error code", ["code"]
)
EVENTS_SUPPRESSED = Counter(
    "nerve_events_suppressed_total",
    "Tracking messages dropped, not stored: they carry an erased person's user id, email or phone",
)
COMMIT_BATCH_EVENTS = Histogram(
    "nerve_event_commit_batch_events",
    "Events written per group commit",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 20000),
)
COMMIT_SECONDS = Histogram(
    "nerve_event_commit_seconds",
    "Duration of one group commit",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
RESOLUTION_LAG = Histogram(
    "nerve_identity_resolution_lag_seconds",
    "Time from an event's arrival to its attachment to a profile",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
EVENTS_RESOLVED = Counter("nerve_identity_events_resolved_total", "Events attached to profiles")
FLOW_RUNS = Counter(
    "nerve_flow_runs_total",
    "Flow runs by what happened: started, completed, goal, exited, failed",
    ["outcome"],
)
FLOW_STEP_SECONDS = Histogram(
    "nerve_flow_step_seconds",
    "Time to execute one flow task",
    ["kind"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
FLOW_TIMER_LAG = Histogram(
    "nerve_flow_timer_lag_seconds",
    "How late a due task started, by the database clock",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
FLOW_ACTION_ERRORS = Counter(
    "nerve_flow_action_errors_total",
    "Failed action attempts: `provider` (receiver refused or was down) vs `engine` (our bug)",
    ["source"],
)
FLOW_ENGINE_ERRORS = Counter(
    "nerve_flow_engine_errors_total",
    "Events the engine could not route (`routing`), versions it could not load (`version`)",
    ["where"],
)
FLOW_ACTIONS_DEFERRED = Counter(
    "nerve_flow_actions_deferred_total",
    "Action steps put back for later: over the fatigue cap, in quiet hours, at the best time",
)
FLOW_DEAD_LETTERS = Counter("nerve_flow_dead_letters_total", "Tasks moved to the dead-letter queue")
SEGMENT_EVALUATIONS = Counter(
    "nerve_segment_evaluations_total",
    "People evaluated for a segment (by its key): by the pipeline, a window's timer or a build",
    ["segment"],
)
WEBHOOK_ENDPOINTS_DISABLED = Counter(
    "nerve_webhook_endpoints_disabled_total",
    "Webhook endpoints disabled because their receiver answered 410 Gone",
)
PUSH_ANSWERS = Counter(
    "nerve_push_answers_total",
    "Push services' answers per subscription: `delivered`, `gone` (404/410/UNREGISTERED: the "
    "subscription is removed), `retry` (429, 5xx, unreachable, FCM's expired token), `refused`",
    ["kind", "outcome"],
)
REQUEST_SECONDS = Histogram(
    "nerve_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

HTTP_REFUSED = Counter(
    "nerve_http_refused_total",
    "Requests the server refused before the app saw them: request_timeout (408), "
    "header_too_large (431), over_capacity (503), too_many_connections (closed unanswered)",
    ["reason"],
)
HTTP_CLIENT_DISCONNECTS = Counter(
    "nerve_http_client_disconnects_total",
    "Clients that hung up before their answer, by what had arrived: head, body, or the whole "
    "request (received)",
    ["stage"],
)


class RequestMetricsMiddleware:
    """Records latency per route template (not raw path, to keep label cardinality bounded)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        except Exception:
            status = status or 500  # escaped every handler: uvicorn answers 500
            raise
        finally:
            # No answer at all: the client hung up, or the server answered in the app's place
            # (nerve/server/protocol.py counts both). Not a 500, and no latency to speak of.
            if status is not None:
                _observe(scope, status, time.perf_counter() - started)


def _observe(scope: Scope, status: int, seconds: float) -> None:
    route = scope.get("route")
    template = getattr(route, "path", None) or "unmatched"
    REQUEST_SECONDS.labels(scope["method"], template, str(status)).observe(seconds)


def exposition() -> bytes:
    """The metrics of this process, or with PROMETHEUS_MULTIPROC_DIR set (`nerve serve`, see
    nerve/launcher.py) of every process of the server: its worker child, `--workers` N."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry) + generate_latest(_Unused(registry))
    return generate_latest()


class _Unused(CollectorRegistry):
    """Nerve's metrics no process has used yet, declared without samples (as one process's own
    registry shows them): a scraper sees every family from the start."""

    def __init__(self, used: CollectorRegistry) -> None:
        super().__init__(auto_describe=False)
        self._used = {family.name for family in used.collect()}

    def collect(self) -> Iterator[Metric]:
        for family in REGISTRY.collect():
            if family.name.startswith("nerve_") and family.name not in self._used:
                yield Metric(family.name, family.documentation, family.type, family.unit)
