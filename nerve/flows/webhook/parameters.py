"""What a `webhook` node's `with` may say — where the request goes, what of the person it
carries, its body and headers as templates — and its checks at validation and publishing.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError
from sqlalchemy import Connection

from nerve.flows import problems
from nerve.flows.calls import ActionRejected
from nerve.identity.service import PERSONAL_TYPES
from nerve.outbound import http
from nerve.outbound.policy import OutboundPolicy, OutboundRefused
from nerve.profiles.schemas import Person
from nerve.webhooks import bodies
from nerve.webhooks import service as webhook_endpoints

# Identifiers sent unless the node lists its own: those that name the person. Anonymous ids
# name a browser or a phone, outside systems' ids may too (advertising ids): sent when listed.
DEFAULT_IDENTIFIERS = PERSONAL_TYPES
MAX_BODY_TEMPLATE = 64 * 1024

_Name = Annotated[str, Field(min_length=1, max_length=200)]


class PersonFields(BaseModel):
    """`with.person` as a mapping: which identifiers and traits to send."""

    model_config = ConfigDict(extra="forbid")

    identifiers: list[_Name] = Field(
        default_factory=lambda: list(DEFAULT_IDENTIFIERS),
        max_length=100,
        description="Identifier types to send (user_id, email, phone, anonymous_id, an outside "
        "system's); unset: user_id, email and phone",
    )
    traits: list[_Name] | None = Field(
        default=None, max_length=1000, description="Trait names to send; unset: every trait"
    )

    def of(self, person: Person | None) -> dict[str, Any] | None:
        """The part of the one person view asked for; None if they were erased."""
        if person is None:
            return None
        kinds = set(self.identifiers)
        identifiers = [
            {"type": found.type, "value": found.value}
            for found in person.identifiers
            if found.type in kinds
        ]
        traits = person.traits
        if self.traits is not None:
            traits = {name: traits[name] for name in self.traits if name in traits}
        return {"identifiers": identifiers, "traits": traits}


class WebhookParameters(BaseModel):
    """A webhook node's `with`."""

    model_config = ConfigDict(extra="forbid")

    endpoint: str | None = Field(
        default=None,
        pattern=f"^{webhook_endpoints.NAME.pattern}$",
        description="A webhook endpoint's name (`nerve webhooks create`): its URL, signed",
    )
    url: str | None = Field(
        default=None, description="http or https, unsigned; refused targets: docs/webhooks.md"
    )
    body: Any = Field(
        default_factory=dict,
        description="Sent as `data` (the whole body with `envelope: false`); its strings are "
        "Liquid over person, event, cart, order and products",
    )
    person: StrictBool | PersonFields = Field(
        default=True,
        description="The person sent along: true (the default identifiers and every trait), "
        "false (none), or {identifiers: [...], traits: [...]}",
    )
    body_template: str | None = Field(
        default=None, min_length=1, max_length=MAX_BODY_TEMPLATE,
        description="Instead of `body`: a Liquid text that renders to JSON (`| json` writes a "
        "value as JSON)",
    )  # fmt: skip
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra request headers; their values are Liquid"
    )
    envelope: StrictBool = Field(
        default=True,
        description="false: the rendered body is the whole request body (a CRM's own format), "
        "without Nerve's flow, run, trigger and person around it",
    )

    def request(self) -> bodies.RequestTemplate:
        return bodies.RequestTemplate(self.body, self.body_template, self.headers)


_HINTS = {
    "endpoint": f"must name a webhook endpoint: {webhook_endpoints.NAME_RULE}",
    "person": "must be true, false or {identifiers: [email, ...], traits: [first_name, ...]}",
    "url": "must be an http or https URL",
    "headers": "must be a mapping of header names to text (Liquid)",
    "body_template": "must be a Liquid text that renders to JSON",
    "envelope": "must be true or false",
}


_BOTH_BODIES = (
    "give `body` (JSON whose strings are Liquid) or `body_template` (a text that "
    "renders to JSON), not both"
)
_NO_ENVELOPE = (
    "with `envelope: false` the body is the whole request: put the person's fields "
    "in it ({{ person.email }})"
)


def parameter_problems(params: dict[str, Any], outbound: OutboundPolicy) -> list[dict[str, str]]:
    """What is wrong with a webhook node's `with`, each at its path under `with`: its fields,
    neither or both of `endpoint` and `url`, a URL that is not http(s) or whose host, as
    written, the outbound policy refuses, and a body or headers that do not render against the
    sample (or, as `body_template`, not to JSON). Whether the endpoint exists is checked at
    publishing (`unknown_references`)."""
    try:
        checked = WebhookParameters.model_validate(params)
    except ValidationError as exc:
        return problems.describe(exc, params, WebhookParameters, _HINTS)
    found = _target_problems(checked, outbound)
    if "body" in params and checked.body_template is not None:
        found.append({"path": "body_template", "reason": _BOTH_BODIES})
    if not checked.envelope and "person" in params:
        found.append({"path": "person", "reason": _NO_ENVELOPE})
    return found + bodies.problems(checked.request())


def _target_problems(checked: WebhookParameters, outbound: OutboundPolicy) -> list[dict[str, str]]:
    if checked.endpoint is not None and checked.url is not None:
        return [{"path": "url", "reason": "give an endpoint (signed) or a url, not both"}]
    if checked.endpoint is None and checked.url is None:
        return [{"path": "url", "reason": "is required, unless the node names a webhook "
                 "endpoint instead (endpoint: crm; signed)"}]  # fmt: skip
    if checked.url is not None:
        try:
            http.check_url(outbound, checked.url)
        except OutboundRefused as exc:
            return [{"path": "url", "reason": str(exc)}]
    return []


def unknown_references(
    conn: Connection, workspace_id: str, nodes: list[Any]
) -> list[dict[str, str]]:
    """Problems for the webhook nodes naming an endpoint the workspace does not have (yet)."""
    found = []
    for index, node in enumerate(nodes):
        name = node.with_.get("endpoint") if node.action == "webhook" else None
        if isinstance(name, str) and not webhook_endpoints.exists(conn, workspace_id, name):
            found.append({"path": f"nodes[{index}].with.endpoint",
                          "reason": f"no webhook endpoint named {name!r}: create it first "
                                    f"(nerve webhooks create {name} URL)"})  # fmt: skip
    return found


def person_fields(params: dict[str, Any]) -> PersonFields | None:
    """What of the person a webhook sends in its envelope; None: nothing. A version published
    before the option was checked may hold anything there: ActionRejected then."""
    option = params.get("person", True)
    if option is False or params.get("envelope") is False:
        return None
    if option is True:
        return PersonFields()
    try:
        return PersonFields.model_validate(option)
    except ValidationError:
        raise ActionRejected(f"webhook `person` {_HINTS['person']}") from None


def request_template(params: dict[str, Any]) -> bodies.RequestTemplate:
    """The node's body and headers; a version published before they were checked may hold
    anything there: ActionRejected then."""
    body_template, headers = params.get("body_template"), params.get("headers") or {}
    if body_template is not None and not isinstance(body_template, str):
        raise ActionRejected(f"webhook `body_template` {_HINTS['body_template']}")
    if not isinstance(headers, dict) or bodies.header_problems(headers):
        raise ActionRejected(f"webhook `headers` {_HINTS['headers']}, none of Nerve's own")
    return bodies.RequestTemplate(params.get("body", {}), body_template, headers)
