"""Builds the ASGI app: routers, middleware, error mapping — nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from nerve import __version__, metrics, openapi
from nerve.audiences import api as audiences_api
from nerve.audiences.worker import AudienceWorker
from nerve.auth import api as auth_api
from nerve.carts import api as carts_api
from nerve.carts import head_api as cart_head_api
from nerve.carts import resume_api as cart_resume_api
from nerve.catalog import api as catalog_api
from nerve.channels import api as templates_api
from nerve.channels import engagement_api, messages_api, suppressions_api, unsubscribe_api
from nerve.channels.bounce_mailbox import BounceMailbox
from nerve.channels.email import email_service
from nerve.channels.push import api as push_api
from nerve.channels.slack import api as slack_api
from nerve.channels.sms import inbound_api as sms_inbound_api
from nerve.channels.timing import api as delivery_policy_api
from nerve.connectors import api as connectors_api
from nerve.consent import api as consent_api
from nerve.consent import preferences_api, topics_api
from nerve.errors import NerveError, UnexpectedErrors, response_to
from nerve.events import api as events_api
from nerve.events.writer import EventWriter
from nerve.flows import api as flows_api
from nerve.flows.broadcasts import api as broadcasts_api
from nerve.flows.worker import FlowWorker
from nerve.identity import api as identity_api
from nerve.identity.worker import IdentityWorker
from nerve.logging import configure_logging
from nerve.ops import api as ops_api
from nerve.orders import api as orders_api
from nerve.personalization import api as slots_api
from nerve.personalization import head_api as personalize_api
from nerve.personalization.impressions import ImpressionLog
from nerve.personalization.slots import SlotCache
from nerve.privacy import api as privacy_api
from nerve.privacy.suppression import Suppression
from nerve.profiles import api as profiles_api
from nerve.recommendations import api as recommendations_api
from nerve.recommendations.trainer import RecommendationTrainer
from nerve.secrets import api as secrets_api
from nerve.segments import api as segments_api
from nerve.segments.worker import SegmentWorker
from nerve.services import Services, provide_services
from nerve.settings import Settings, get_settings
from nerve.tracking import api as tracking_api
from nerve.tracking.normalize import Limits
from nerve.tracking.service import WriteKeys
from nerve.webhooks import api as webhooks_api
from nerve.worker import WorkerProcess


def create_served_app() -> FastAPI:
    """`nerve serve`'s app: settings from the environment, the embedded worker as a child
    process (NERVE_EMBEDDED_WORKER_PROCESS) that reads the same environment."""
    settings = get_settings()
    return create_app(settings, worker_process=settings.embedded_worker_process)


def create_app(settings: Settings | None = None, *, worker_process: bool = False) -> FastAPI:
    """The app; with `worker_process` its embedded worker runs as a child `nerve worker`
    (which reads its settings from the environment, not from `settings`), else on threads of
    this process."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with provide_services(settings) as services:
            writer = EventWriter(services.engine, settings.max_commit_events)
            app.state.settings = settings
            app.state.services = services
            app.state.engine = services.engine
            app.state.event_writer = writer
            app.state.write_keys = WriteKeys(services.engine)
            app.state.suppression = Suppression(services.engine)
            app.state.limits = Limits(
                settings.max_event_bytes, settings.max_request_bytes, settings.max_batch_events
            )
            app.state.email = email_service(services.engine, settings)
            app.state.slot_cache = SlotCache()
            app.state.impressions = ImpressionLog(services.engine)
            app.state.impressions.start()
            writer.start()
            background = _background(settings, services, worker_process)
            for worker in background:
                worker.start()
            if background:
                writer.on_commit(background[0].wake)
            try:
                yield
            finally:
                await writer.close()
                await app.state.impressions.close()
                for worker in background:
                    await worker.close()
                if app.state.email is not None:
                    app.state.email.transport.close()

    app = FastAPI(
        title="Nerve",
        version=__version__,
        description="Marketing-automation brain for headless commerce.",
        lifespan=lifespan,
        docs_url=None,  # served by nerve/openapi.py from local files, not a CDN
        redoc_url=None,
    )
    app.include_router(consent_api.form_router)  # before the tracking API's catch-all
    app.include_router(sms_inbound_api.router)  # before the tracking API's catch-all
    app.include_router(push_api.router)  # before the tracking API's catch-all
    app.include_router(cart_head_api.router)  # before the tracking API's catch-all
    app.include_router(personalize_api.router)  # before the tracking API's catch-all
    app.router.routes.extend(tracking_api.routes)
    app.include_router(ops_api.router)
    app.include_router(events_api.router)
    app.include_router(profiles_api.router)
    app.include_router(identity_api.profile_router)
    app.include_router(orders_api.profile_router)
    app.include_router(orders_api.router)
    app.include_router(privacy_api.router)
    app.include_router(identity_api.router)
    app.include_router(flows_api.router)
    app.include_router(broadcasts_api.router)
    app.include_router(auth_api.router)
    app.include_router(secrets_api.router)
    app.include_router(webhooks_api.router)
    app.include_router(audiences_api.router)
    app.include_router(catalog_api.router)
    app.include_router(connectors_api.webhook_router)
    app.include_router(connectors_api.router)
    app.include_router(slack_api.router)
    app.include_router(templates_api.router)
    app.include_router(messages_api.router)
    app.include_router(delivery_policy_api.router)
    app.include_router(suppressions_api.router)
    app.include_router(unsubscribe_api.router)
    app.include_router(carts_api.router)
    app.include_router(segments_api.router)
    app.include_router(segments_api.profile_router)
    app.include_router(recommendations_api.router)
    app.include_router(slots_api.router)
    app.include_router(cart_resume_api.router)
    app.include_router(engagement_api.router)
    app.include_router(topics_api.router)  # before /api/v1/consent/{...} paths
    app.include_router(consent_api.router)
    app.include_router(preferences_api.router)
    app.add_middleware(UnexpectedErrors)  # innermost: its 500s still get CORS and metrics
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],  # PUT, DELETE: carts
        allow_headers=["Authorization", "Content-Type", "Content-Encoding", "X-Retry-Count"],
        max_age=86400,
    )
    app.add_middleware(metrics.RequestMetricsMiddleware)
    _install_error_mapping(app)
    openapi.install(app)
    return app


_Background = (
    IdentityWorker
    | FlowWorker
    | WorkerProcess
    | BounceMailbox
    | AudienceWorker
    | RecommendationTrainer
    | SegmentWorker
)


def _background(settings: Settings, services: Services, worker_process: bool) -> list[_Background]:
    """The embedded worker, the one woken by event commits first."""
    if not settings.embedded_worker:
        return []
    if worker_process:
        return [WorkerProcess()]
    identity = IdentityWorker(services.engine, services.consumers)
    flows = FlowWorker.configured(services.engine, settings)
    identity.on_resolved(flows.wake)
    background: list[_Background] = [identity, flows]
    background.append(SegmentWorker(services.engine))  # window timers and builds
    audiences = AudienceWorker.configured(services.engine, settings)
    identity.on_resolved(audiences.wake)  # a segment may have changed
    background.append(audiences)
    background.append(RecommendationTrainer.configured(services.engine, settings))
    bounces = BounceMailbox.configured(services.engine, settings)
    if bounces is not None:
        background.append(bounces)
    return background


def _install_error_mapping(app: FastAPI) -> None:
    """Errors become HTTP responses in the contract's shape: domain errors and what the
    framework raises through the handlers, anything else through `UnexpectedErrors`."""

    async def mapped(request: Request, exc: Exception) -> Response:
        return response_to(exc, request.scope)

    for kind in (NerveError, RequestValidationError, StarletteHTTPException):
        app.add_exception_handler(kind, mapped)
