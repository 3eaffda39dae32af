"""What the demo workspace needs for segments, personalization and broadcasts, set up as a
marketer would with `nerve segments apply`, `nerve slots apply` and `nerve flows apply`: the
segments and slots of personalization.yaml, then the templates and the audience flows of
audience_flows.yaml (publishing checks that their segments exist), their waits divided by the
demo's speed. Each save keeps its version when nothing changed, so a rerun adds nothing.
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
from nerve.flows.definition import validate
from nerve.flows.durations import parse_duration
from nerve.flows.versions import publish
from nerve.outbound.policy import OutboundPolicy
from nerve.personalization import slots
from nerve.segments import service as segments

ACTOR = "nerve demo"
_DEFINITIONS = "personalization.yaml"
_FLOWS = "audience_flows.yaml"
VIP_NEWSLETTER = "demo_vip_newsletter"
BRAND_DEAL = "demo_brand_deal"
HOME_BANNER = "home_banner"
LISTING = "running_shoes_listing"
RUNNING_FANS = "running_fans"
VIP = "vip"
VIP_SUBJECT = "your VIP picks"  # in the VIP newsletter's subject (audience_flows.yaml)


@dataclass(frozen=True)
class AudienceSetup:
    """What the welcome says about segments, slots and the audience flows."""

    segments: list[str]  # keys, as applied
    slots: list[str]
    flows: list[PublishedFlow]

    def flow(self, name: str) -> PublishedFlow:
        return next(flow for flow in self.flows if flow.name == name)


def _shipped(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(
        files("nerve.demo").joinpath(name).read_text(encoding="utf-8")
    )
    return loaded


def prepare_audiences(
    engine: Engine, workspace_id: str, speed: float, outbound: OutboundPolicy
) -> AudienceSetup:
    """Segments first (a new version builds over the people the demo database already has),
    then the slots that name them, then the templates and flows that start for them."""
    definitions, shipped = _shipped(_DEFINITIONS), _shipped(_FLOWS)
    with write_transaction(engine) as conn:
        for segment in definitions["segments"]:
            segments.apply(conn, workspace_id, segment)
        for slot in definitions["slots"]:
            slots.save(conn, workspace_id, slot, actor=ACTOR)
        for template in shipped["templates"]:
            templates.save(conn, workspace_id, template, actor=ACTOR)
        published = []
        for data in shipped["flows"]:
            flow = validate(data)
            answer = publish(conn, workspace_id, adapted(flow, "", speed, outbound), ENVIRONMENT)
            waits = [parse_duration(n.wait).total_seconds()
                     for n in flow.nodes if isinstance(n.wait, str)]  # fmt: skip
            published.append(
                PublishedFlow(flow.name, answer["version"], not answer["unchanged"], waits)
            )
    return AudienceSetup(
        segments=[s["key"] for s in definitions["segments"]],
        slots=[s["key"] for s in definitions["slots"]],
        flows=published,
    )
