"""The demo's abandoned-cart flow: its reminder mails saved as templates, the flow published to
the demo workspace with its waits divided by the demo's speed and its webhook pointed at the
demo's stand-in for the shop's backend, and a few figures about its runs for the screen.

Every publish makes a new version, so the flow is published only when the demo workspace has
none yet or the adapted definition differs from the latest one (another speed, another port);
likewise a template that did not change keeps its version.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

import structlog
import yaml
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from nerve.channels import templates
from nerve.db.engine import write_transaction
from nerve.demo.sends import SendLog
from nerve.demo.shop_backend import ShopBackend
from nerve.flows import service as flows
from nerve.flows.definition import FlowDefinition, load, validate
from nerve.flows.durations import parse_duration
from nerve.flows.versions import publish
from nerve.outbound.policy import OutboundPolicy

log = structlog.get_logger(__name__)

FLOW_NAME = "demo_abandoned_cart"
ENVIRONMENT = "production"
_DEFINITION = "abandoned_cart.yaml"
_TEMPLATES = "cart_reminders.yaml"
# The flow's steps that send mail, as the screen names their mails.
STEP_MAILS = {
    "first_reminder": "Cart reminder",
    "second_reminder": "Second cart reminder",
    "reminder_with_coupon": "Cart reminder with coupon",
}


@dataclass(frozen=True)
class PublishedFlow:
    name: str
    version: int
    published: bool  # a new version now, rather than the one a previous demo run published
    waits: list[float]  # seconds of each wait, in shop time (before dividing by the speed)


def definition() -> FlowDefinition:
    """The flow as shipped: waits meant for speed 1, webhooks to a placeholder receiver."""
    return load(files("nerve.demo").joinpath(_DEFINITION).read_text(encoding="utf-8"))


def save_templates(engine: Engine, workspace_id: str) -> list[templates.SavedVersion]:
    """The reminder mails the flow sends, saved (and checked) as any template is."""
    shipped = yaml.safe_load(files("nerve.demo").joinpath(_TEMPLATES).read_text(encoding="utf-8"))
    saved = []
    with write_transaction(engine) as conn:
        for template in shipped["templates"]:
            source = {key: value for key, value in template.items() if key != "body"}
            source["html"] = shipped["layout"].replace("<!-- body -->", template["body"])
            saved.append(templates.save(conn, workspace_id, source, actor="nerve demo"))
    return saved


def stored_receiver_port(engine: Engine, workspace_id: str) -> int | None:
    """The receiver port the latest published version posts to; reusing it spares a version."""
    with engine.connect() as conn:
        stored = _latest(conn, workspace_id)
    if stored is None:
        return None
    for node in stored[1].get("nodes", []):
        url = (node.get("with") or {}).get("url")
        if node.get("action") == "webhook" and isinstance(url, str):
            try:
                return urlsplit(url).port
            except ValueError:
                return None
    return None


def publish_flow(
    engine: Engine, workspace_id: str, receiver_url: str, speed: float, outbound: OutboundPolicy
) -> PublishedFlow:
    """Publish the adapted flow, checked as any draft is: under the demo's outbound policy."""
    shipped = definition()
    flow = adapted(shipped, receiver_url, speed, outbound)
    wanted = _stored_form(flow)
    with write_transaction(engine) as conn:
        stored = _latest(conn, workspace_id)
        if stored is not None and stored[1] == wanted:
            version, published = stored[0], False
        else:
            version, published = publish(conn, workspace_id, flow, ENVIRONMENT)["version"], True
    waits = [
        parse_duration(n.wait).total_seconds() for n in shipped.nodes if isinstance(n.wait, str)
    ]
    return PublishedFlow(FLOW_NAME, version, published, waits)


def adapted(
    flow: FlowDefinition, receiver_url: str, speed: float, outbound: OutboundPolicy | None = None
) -> FlowDefinition:
    """The flow with every wait and timeout divided by `speed` and webhooks to `receiver_url`."""
    data = flow.model_dump(mode="json", by_alias=True)
    for node in data["nodes"]:
        if isinstance(node.get("wait"), str):
            node["wait"] = _faster(node["wait"], speed)
        if node.get("wait_for_event"):
            node["wait_for_event"]["timeout"] = _faster(node["wait_for_event"]["timeout"], speed)
        if node.get("action") == "webhook":
            node["with"] = {**node["with"], "url": receiver_url}
    return validate(data, outbound)


def _faster(duration: str, speed: float) -> str:
    seconds = parse_duration(duration).total_seconds() / speed
    return f"{max(round(seconds, 1), 0.1):g}s"


def _stored_form(flow: FlowDefinition) -> Any:
    # As `publish` stores it, so that the comparison with the stored definition is like for like.
    return flow.model_dump(mode="json", by_alias=True, exclude_defaults=False)


def _latest(conn: Connection, workspace_id: str) -> tuple[int, Any] | None:
    """The latest production version of the demo's flow: its number and its definition."""
    return flows.latest_version(conn, workspace_id, FLOW_NAME, ENVIRONMENT)


@dataclass(frozen=True)
class CartFlowFigures:
    entered: int  # checkouts that started a run since the demo started
    in_flow: int  # runs with a reminder still to come
    reminders: int  # reminder mails sent
    opened: int  # of them, opened (Nerve's message log; Apple's proxy loading the pixel is none)
    clicked: int  # of them, clicked
    skipped: int  # reminders not sent: no consent, no address
    recovered: int  # carts reminded by this demo and ordered afterwards
    coupons: int  # coupons the flow's webhook asked the shop's backend to honour


class CartFlowCounts:
    """The flow's figures for the screen: the message log's reminders and the runs in the
    database (re-read when the last reading is a second old, with small indexed queries)."""

    def __init__(
        self,
        engine: Engine,
        workspace_id: str,
        sends: SendLog,
        shop_backend: ShopBackend,
        every: float = 1.0,
    ) -> None:
        self._engine = engine
        self._workspace_id = workspace_id
        self._sends = sends
        self._shop_backend = shop_backend
        self._every = every
        self._read_at = float("-inf")
        self._runs: tuple[int, int, int] | None = None
        self._runs_before = self._read_runs(set())[0]

    def figures(self, *, fresh: bool = False) -> CartFlowFigures:
        if fresh:
            self._sends.read()
        if fresh or time.monotonic() - self._read_at >= self._every:
            self._read_at = time.monotonic()
            try:
                self._runs = self._read_runs(set(self._sends.reminded_runs))
            except SQLAlchemyError:  # the screen keeps the last figures; the demo goes on
                log.warning("demo_flow_figures_unreadable", exc_info=True)
        runs, in_flow, recovered = self._runs or (self._runs_before, 0, 0)
        return CartFlowFigures(
            entered=runs - self._runs_before,
            in_flow=in_flow,
            reminders=self._sends.sent,
            opened=self._sends.opened,
            clicked=self._sends.clicked,
            skipped=sum(self._sends.skipped.values()),
            recovered=recovered,
            coupons=self._shop_backend.coupons,
        )

    def _read_runs(self, reminded: set[str]) -> tuple[int, int, int]:
        """All runs of the flow, those with a reminder to come, and reminded runs that ended in
        an order."""
        with self._engine.connect() as conn:
            total, in_flow, recovered = flows.run_counts(
                conn, self._workspace_id, FLOW_NAME, reminded
            )
        return total, in_flow, recovered
