"""The demo's flows on the channels beside email (channel_flows.yaml): their SMS, push and Slack
templates saved, and the flows published to the demo workspace in production with their waits
divided by the demo's speed — a new version only when a flow changed (another speed), as for the
abandoned-cart flow (cart_flow.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import yaml
from sqlalchemy import Engine

from nerve.channels import templates
from nerve.db.engine import write_transaction
from nerve.demo.cart_flow import ENVIRONMENT, PublishedFlow, adapted
from nerve.flows.definition import FlowDefinition, validate
from nerve.flows.durations import parse_duration
from nerve.flows.versions import publish
from nerve.outbound.policy import OutboundPolicy

_FLOWS = "channel_flows.yaml"
_TEMPLATES = "channel_templates.yaml"
TRACKING = "demo_order_shipped"
LOW_STOCK = "demo_low_stock"
SOLD_OUT = "demo_sold_out"
BACK_IN_STOCK = "demo_back_in_stock"
BIG_ORDERS = "demo_big_order_alert"
CART_SMS = "demo_cart_sms"
APP_OFFER = "demo_app_offer"
# How the screen names what each flow's step sends.
STEP_NAMES = {
    "tracking_number": "Tracking number",
    "cart_sms": "Cart reminder",
    "app_offer": "App offer",
    "tell_the_team": "Big order alert",
    "low_stock": "Low stock alert",
    "sold_out": "Sold out alert",
    "back_in_stock": "Back in stock alert",
    "brand_deal": "Brand deal",  # audience_flows.yaml
}


@dataclass(frozen=True)
class ChannelFlows:
    flows: list[PublishedFlow]

    def flow(self, name: str) -> PublishedFlow:
        return next(flow for flow in self.flows if flow.name == name)


def definitions() -> list[FlowDefinition]:
    """The flows as shipped, with their waits meant for speed 1."""
    shipped = yaml.safe_load(files("nerve.demo").joinpath(_FLOWS).read_text(encoding="utf-8"))
    return [validate(flow) for flow in shipped["flows"]]


def save_channel_templates(engine: Engine, workspace_id: str) -> list[templates.SavedVersion]:
    """The flows' SMS, push and Slack templates, saved (and checked) as any template is."""
    source = files("nerve.demo").joinpath(_TEMPLATES).read_text(encoding="utf-8")
    shipped: dict[str, Any] = yaml.safe_load(source)
    with write_transaction(engine) as conn:
        return [
            templates.save(conn, workspace_id, template, actor="nerve demo")
            for template in shipped["templates"]
        ]


def publish_channel_flows(
    engine: Engine, workspace_id: str, speed: float, outbound: OutboundPolicy
) -> ChannelFlows:
    """Publish each flow adapted to the speed; one that did not change keeps its version. Its
    templates, topics and Slack destination must exist first (publishing checks them)."""
    published = []
    with write_transaction(engine) as conn:
        for shipped in definitions():
            flow = adapted(shipped, "", speed, outbound)
            answer = publish(conn, workspace_id, flow, ENVIRONMENT)
            waits = [parse_duration(n.wait).total_seconds()
                     for n in shipped.nodes if isinstance(n.wait, str)]  # fmt: skip
            published.append(
                PublishedFlow(flow.name, answer["version"], not answer["unchanged"], waits)
            )
    return ChannelFlows(published)
