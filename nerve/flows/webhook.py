"""The `webhook` action: POST the step as JSON — the flow, the run, the trigger, the node's
`body` and the person as Nerve sees them — to a webhook endpoint the node names (signed per
Standard Webhooks, nerve/webhooks) or to the node's URL (unsigned), under the outbound policy.
docs/webhooks.md describes the request field by field.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError
from sqlalchemy import Connection

from nerve import numbers
from nerve.flows import problems
from nerve.flows.calls import ActionCall, ActionFailed, ActionRejected
from nerve.identity.service import PERSONAL_TYPES
from nerve.outbound import http
from nerve.outbound.policy import OutboundPolicy, OutboundRefused
from nerve.profiles.schemas import Person
from nerve.webhooks import service as webhook_endpoints
from nerve.webhooks import signing

# Identifiers sent unless the node lists its own: those that name the person. Anonymous ids
# name a browser or a phone, outside systems' ids may too (advertising ids): sent when listed.
DEFAULT_IDENTIFIERS = PERSONAL_TYPES
_KEEP_ANSWER_BYTES = 200  # of an answer, for the step or the dead letter: a hint, not a copy

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
    body: Any = Field(default_factory=dict, description="Sent as `data`")
    person: StrictBool | PersonFields = Field(
        default=True,
        description="The person sent along: true (the default identifiers and every trait), "
        "false (none), or {identifiers: [...], traits: [...]}",
    )


_HINTS = {
    "endpoint": f"must name a webhook endpoint: {webhook_endpoints.NAME_RULE}",
    "person": "must be true, false or {identifiers: [email, ...], traits: [first_name, ...]}",
    "url": "must be an http or https URL",
}


def parameter_problems(params: dict[str, Any], outbound: OutboundPolicy) -> list[dict[str, str]]:
    """What is wrong with a webhook node's `with`, each at its path under `with`: its fields,
    neither or both of `endpoint` and `url`, and a URL that is not http(s) or whose host, as
    written, the outbound policy refuses. Whether the endpoint exists is checked at publishing
    (`unknown_references`)."""
    try:
        checked = WebhookParameters.model_validate(params)
    except ValidationError as exc:
        return problems.describe(exc, params, WebhookParameters, _HINTS)
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
    """What of the person a webhook sends; None: nothing. A version published before the
    option was checked may hold anything there: ActionRejected then."""
    option = params.get("person", True)
    if option is False:
        return None
    if option is True:
        return PersonFields()
    try:
        return PersonFields.model_validate(option)
    except ValidationError:
        raise ActionRejected(f"webhook `person` {_HINTS['person']}") from None


def request_body(call: ActionCall) -> dict[str, Any]:
    return {
        "flow": call.flow,
        "run_id": call.run_id,
        "node": call.node,
        "profile_id": call.profile_id,
        "data": call.params.get("body", {}),
        "trigger": call.trigger,
        "person": call.person,
    }


@dataclass(frozen=True)
class _Destination:
    url: object  # a version published before a check may hold anything: checked at the call
    endpoint: str | None = None  # the endpoint's name; None: the node's own `url`
    secrets: tuple[str, ...] = ()  # signing secrets, newest first


class WebhookSender:
    """POSTs the call as JSON, signed when it goes to an endpoint. One pooled HTTP client for
    all calls: building a client per call (its TLS context) cost ~40 ms, more than the rest
    of a flow step together."""

    def __init__(
        self,
        outbound: OutboundPolicy | None = None,
        endpoints: webhook_endpoints.Endpoints | None = None,
        **client: Any,
    ) -> None:
        self._outbound = outbound or OutboundPolicy()
        self._endpoints = endpoints
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)
        self._client = http.client(self._outbound, limits=limits, **client)

    def close(self) -> None:
        self._client.close()

    def __call__(self, call: ActionCall) -> dict[str, Any]:
        destination = self._destination(call)
        # Checked again as written: the version may predate the check, or the policy changed.
        try:
            url = http.check_url(self._outbound, destination.url)
        except OutboundRefused as exc:
            where = f"endpoint {destination.endpoint!r}" if destination.endpoint else "`url`"
            raise ActionRejected(f"webhook {where} refused: {exc}") from None
        content = numbers.dumps(request_body(call))
        timestamp = str(int(time.time()))
        headers = {
            "content-type": "application/json",
            # Standard Webhooks: the same id on every attempt lets the receiver deduplicate.
            "webhook-id": call.idempotency_key,
            "webhook-timestamp": timestamp,
            "idempotency-key": call.idempotency_key,
        }
        if destination.secrets:
            try:  # over the exact bytes sent, with this attempt's timestamp
                headers["webhook-signature"] = signing.signature(
                    destination.secrets, call.idempotency_key, timestamp, content
                )
            except signing.InvalidSecret as exc:  # set by hand through /api/v1/secrets
                raise ActionRejected(f"webhook endpoint {destination.endpoint!r}: {exc}; "
                                     f"`nerve webhooks rotate {destination.endpoint}` makes a "
                                     "new one") from None  # fmt: skip
        status, answer, location = self._post(url, content, headers, call)
        if status == 410 and destination.endpoint is not None:
            self._gone(call, destination.endpoint)
        return _outcome(status, answer, location)

    def _destination(self, call: ActionCall) -> _Destination:
        name = call.params.get("endpoint")
        if name is None:
            return _Destination(call.params.get("url"))
        if self._endpoints is None:
            raise ActionRejected("webhook endpoints cannot be read by this sender")
        try:
            target = self._endpoints.target(call.workspace_id, str(name))
        except webhook_endpoints.Unusable as exc:
            raise ActionRejected(str(exc)) from None
        return _Destination(target.url, target.name, target.secrets)

    def _gone(self, call: ActionCall, name: str) -> None:
        """RFC 9110 §15.5.11: 410 Gone says the receiver is gone for good, so the endpoint is
        disabled — later steps to it are dead-lettered without a request — until enabled."""
        assert self._endpoints is not None
        reason = f"the receiver answered 410 Gone (flow {call.flow}, step {call.node})"
        self._endpoints.gone(call.workspace_id, name, reason)
        raise ActionRejected(
            f"receiver answered 410 Gone: the webhook endpoint {name!r} is now disabled; "
            f"`nerve webhooks enable {name}` once it takes webhooks again, then replay"
        )

    def _post(
        self, url: httpx.URL, content: bytes, headers: dict[str, str], call: ActionCall
    ) -> tuple[int, bytes, str]:
        # The node's timeout bounds the whole attempt: httpx's own timeouts apply per read, so
        # a receiver trickling its answer would otherwise hold the attempt indefinitely.
        deadline = time.monotonic() + call.timeout
        try:
            with self._client.stream(
                "POST", url, content=content, headers=headers, timeout=call.timeout
            ) as response:
                answer = b""
                for chunk in response.iter_bytes():
                    if time.monotonic() > deadline:
                        raise ActionFailed(f"no complete answer within {call.timeout:g}s")
                    answer = (answer + chunk)[:_KEEP_ANSWER_BYTES]
        except OutboundRefused as exc:  # what the host resolves to now
            raise ActionRejected(f"webhook refused by the outbound policy: {exc}") from None
        except httpx.HTTPError as exc:
            raise ActionFailed(f"{type(exc).__name__}: {exc}") from exc
        location = response.headers.get("location", "")[:_KEEP_ANSWER_BYTES]
        return response.status_code, answer, location


def _outcome(status: int, answer: bytes, location: str) -> dict[str, Any]:
    if status in (408, 425, 429) or status >= 500:
        raise ActionFailed(f"receiver answered {status}")
    if status >= 400:
        text = answer.decode(errors="replace")
        raise ActionRejected(f"receiver refused with {status}: {text}")
    if status >= 300:
        # Never followed: the address it points to was checked by no one, and a POST may not
        # be repeated elsewhere without the sender's say (RFC 9110 §15.4).
        raise ActionRejected(
            f"receiver answered {status}, redirecting to {location or '(no location)'}; "
            "redirects are not followed: put the URL they point to in the flow"
        )
    return {"status": status}
