"""Flow definitions (YAML or JSON) and their validation, with a published JSON Schema.

A flow is a trigger, optional exit/goal conditions and a list of nodes. Each node does one
thing — `wait`, `wait_for_event`, `branch`, `split`, `digest` or `action` — and then goes to
`next` (by default the node below it; after the last node the run completes).
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from nerve.errors import InvalidFlow as InvalidFlow  # raised by load and validate
from nerve.flows import actions, graph, problems, segment_trigger, shop_events
from nerve.flows.broadcasts import trigger as audience_trigger
from nerve.flows.durations import MAX_DAYS, parse_duration
from nerve.flows.expressions import ExpressionError, parse
from nerve.flows.graph import END, NEXT
from nerve.outbound.policy import OutboundPolicy

__all__ = ["END", "NEXT", "FlowDefinition", "InvalidFlow", "load", "validate"]
_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

Target = Annotated[str, Field(description="A node id, `next` or `end`")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _expression(value: str | None) -> str | None:
    if value is not None:
        try:
            parse(value)
        except ExpressionError as exc:
            raise ValueError(str(exc)) from None
    return value


def _duration(value: str) -> str:
    parse_duration(value)
    return value


class Reentry(_Strict):
    every_days: int = Field(
        ge=1, le=MAX_DAYS, description="At most one run per profile in this many days"
    )


# What can start a run. Later capabilities register theirs here (segment entered/exited,
# schedules, catalog events such as back in stock); the engine routes each type.
TRIGGER_TYPES: dict[str, str] = {"event": "a tracked event with this name (`event`)"}
TRIGGER_TYPES.update({kind: f"a {kind} event about the shop, not a person (`event`: "
                      f"{', '.join(sorted(names))}); its run has no person"
                      for kind, names in shop_events.SHOP_EVENTS.items()})  # fmt: skip
TRIGGER_TYPES["segment"] = (
    "a person entered or left the segment `segment` (`event`: segment_entered, segment_exited)"
)
TRIGGER_TYPES["audience"] = (
    "every member of the segment `segment` (nerve/flows/broadcasts): `event: broadcast` (started "
    "by hand), `event: schedule` (with `every` and `at`) or a catalog event such as price_changed"
)


class Trigger(_Strict):
    type: str = Field(default="event", description="What starts a run; see TRIGGER_TYPES")
    event: str = Field(min_length=1, description="Event name, e.g. Checkout Started")
    segment: str | None = Field(
        default=None,
        description="The segment's key, for the trigger types `segment` (segment_entered, "
        "segment_exited) and `audience` (every member of the segment)",
    )
    every: str | None = Field(
        default=None, description="`audience` with `event: schedule`: how often, e.g. 1d or 7d"
    )
    at: time | None = Field(
        default=None,
        description='`audience` with `event: schedule`: the UTC time of day, quoted: "09:00"',
    )
    where: str | None = Field(default=None, description="Condition on the event and profile")
    key: str | None = Field(
        default=None, description="Expression for the run key, e.g. properties.cart_id"
    )
    reentry: Literal["once", "once_per_key", "always"] | Reentry = "once_per_key"

    _check_where = field_validator("where", "key")(_expression)

    @field_validator("every")
    @classmethod
    def _every(cls, value: str | None) -> str | None:
        return None if value is None else _duration(value)

    @field_validator("at", mode="before")
    @classmethod
    def _quoted_at(cls, value: Any) -> Any:
        # As for WaitUntil.until: YAML 1.1 reads an unquoted 09:00 as a number.
        if value is not None and not isinstance(value, str | time):
            raise ValueError('must be a time of day in quotes, e.g. "09:00"')
        return value

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in TRIGGER_TYPES:
            raise ValueError(f"unknown trigger type {value!r}; known: {', '.join(TRIGGER_TYPES)}")
        return value


class Exit(_Strict):
    event: str = Field(min_length=1, description="Leave the run when this event arrives")
    where: str | None = Field(
        default=None,
        description="Condition; `trigger` is the triggering event, e.g. "
        "properties.cart_id == trigger.properties.cart_id",
    )
    goal: bool = Field(default=False, description="Reaching this exit counts as a conversion")

    _check_where = field_validator("where")(_expression)


class WaitUntil(_Strict):
    until: time = Field(description='Local time of day, quoted: "09:00"')
    timezone: str = Field(
        default="profile",
        description="`profile` (the person's time zone, else the trigger's context.timezone, "
        "else UTC) or an IANA name",
    )

    @field_validator("until", mode="before")
    @classmethod
    def _quoted(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted 18:00 as the number 1080 (base 60), which pydantic
        # would take for 00:18.
        if not isinstance(value, str | time):
            raise ValueError('must be a time of day in quotes, e.g. "09:00"')
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value != "profile":
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}; e.g. Europe/Berlin") from None
        return value


class WaitForEvent(_Strict):
    event: str = Field(min_length=1)
    where: str | None = Field(default=None, description="Correlation, e.g. same cart_id")
    timeout: str
    on_event: Target = NEXT
    on_timeout: Target = NEXT

    _check_where = field_validator("where")(_expression)
    _check_timeout = field_validator("timeout")(_duration)


class BranchCase(_Strict):
    when: str | None = None
    otherwise: bool = Field(default=False, alias="else")
    goto: Target

    _check_when = field_validator("when")(_expression)

    @model_validator(mode="after")
    def _one(self) -> BranchCase:
        if (self.when is None) == (not self.otherwise):
            raise ValueError("a branch case has either `when` or `else: true`")
        return self


class SplitPath(_Strict):
    percent: float = Field(gt=0, le=100)
    goto: Target
    name: str | None = None


class DigestStep(_Strict):
    """Collect the person's triggering events into one digest; one run goes on with them all
    (docs/digests.md)."""

    window: str | WaitUntil = Field(
        description="How long a digest collects from its first event (1h, 1d), or until a "
        'time of day: {until: "09:00"}'
    )
    key: str | None = Field(
        default=None,
        description="Expression for the item key, e.g. properties.sku: events with the same key "
        "are one item. Default: the event's messageId",
    )

    @field_validator("key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is not None and "{{" in value:
            raise ValueError("an expression, as for trigger.key, not a template: properties.sku")
        return _expression(value)

    @field_validator("window")
    @classmethod
    def _window(cls, value: str | WaitUntil) -> str | WaitUntil:
        return _duration(value) if isinstance(value, str) else value


KINDS = ("wait", "wait_for_event", "branch", "split", "digest", "action")


class Node(_Strict):
    id: str = Field(description="snake_case, unique in the flow")
    wait: str | WaitUntil | None = Field(default=None, description='e.g. 2h, or {until: "09:00"}')
    wait_for_event: WaitForEvent | None = None
    branch: list[BranchCase] | None = None
    split: list[SplitPath] | None = None
    digest: DigestStep | None = None
    action: str | None = Field(default=None, description="webhook, update_profile, add_tag, ...")
    with_: dict[str, Any] = Field(
        default_factory=dict,
        alias="with",
        description="The action's parameters; webhook: {url, body, person} (docs/webhooks.md)",
    )
    timeout: str = Field(default="30s", description="Per attempt, for actions")
    retries: int = Field(default=5, ge=0, le=20, description="Attempts after the first")
    next: Target = NEXT

    _check_timeout = field_validator("timeout")(_duration)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value) or value in (END, NEXT):
            raise ValueError("ids are snake_case (a-z, 0-9, _) and not `end` or `next`")
        return value

    @field_validator("wait")
    @classmethod
    def _wait(cls, value: str | WaitUntil | None) -> str | WaitUntil | None:
        return _duration(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_kind(self) -> Node:
        kinds = [k for k in KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"each node does exactly one of: {', '.join(KINDS)}")
        if self.split is not None and abs(sum(p.percent for p in self.split) - 100) > 1e-9:
            raise ValueError("split percentages must add up to 100")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k) is not None)


class FlowDefinition(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,99}$", description="snake_case flow name")
    description: str = ""
    critical: bool = Field(
        default=False,
        description="Order and payment messages: every send of the flow is transactional (no "
        "opt-out or withdrawn topic holds it back) and the preference page does not offer it",
    )
    trigger: Trigger
    exit: list[Exit] = Field(default_factory=list)
    nodes: list[Node] = Field(min_length=1)
    _positions: dict[str, int] = PrivateAttr(default_factory=dict)

    def _position(self, node_id: str) -> int:
        """Where a node is in `nodes`; an index, because a decision looks nodes up often."""
        if not self._positions:
            for position, node in enumerate(self.nodes):
                self._positions.setdefault(node.id, position)
        return self._positions[node_id]

    def node(self, node_id: str) -> Node:
        return self.nodes[self._position(node_id)]

    @property
    def uses_profile(self) -> bool:
        """Whether any condition reads `profile` or a wait needs the person's time zone: only
        then does the engine load the person (five queries) for each decision."""
        conditions = [self.trigger.where, *(e.where for e in self.exit)]
        for node in self.nodes:
            conditions += [case.when for case in node.branch or []]
            if node.wait_for_event is not None:
                conditions.append(node.wait_for_event.where)
            until = node.digest.window if node.digest is not None else node.wait
            if isinstance(until, WaitUntil) and until.timezone == "profile":
                return True
        return any(c is not None and _PROFILE.search(c) for c in conditions)

    def after(self, node_id: str, target: str = NEXT) -> str:
        """Resolve `next`/`end`/an id to the id of the node to run next (or END)."""
        if target != NEXT:
            return target
        index = self._position(node_id)
        return self.nodes[index + 1].id if index + 1 < len(self.nodes) else END


_PROFILE = re.compile(r"\bprofile\b")


# Plain reasons for fields whose type alone does not say what to write (a choice of forms, a
# pattern); see problems.py.
_HINTS = {
    "(flow)": "a flow is a mapping with name, trigger and nodes",
    "reentry": "must be once, once_per_key, always, or {every_days: N}",
    "wait": 'must be a duration (30s, 15m, 2h, 3d) or {until: "09:00"}',
    "timeout": "must be a duration such as 30s, 15m, 2h or 3d",
    "until": 'must be a time of day in quotes, e.g. "09:00"',
    "window": 'must be a duration (15m, 1h, 1d) or {until: "09:00"}',
    "digest": "must be {window: 1h}, with key: properties.sku to make events of one sku one item",
    "name": "must be snake_case: lowercase letters, digits and _, starting with a letter",
}
# A YAML file is a tree of at most this many values once its aliases are expanded: a few
# lines of anchors can otherwise stand for billions of values ("billion laughs").
MAX_VALUES = 100_000


def read(text: str) -> Any:
    """YAML or JSON text as data, or InvalidFlow at `(file)`."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidFlow([{"path": "(file)", "reason": f"not valid YAML/JSON: {exc}"}]) from None
    if _expands_beyond(data, MAX_VALUES):
        reason = f"the file holds more than {MAX_VALUES:,} values (counting what aliases repeat)"
        raise InvalidFlow([{"path": "(file)", "reason": reason}])
    return data


def _expands_beyond(data: Any, limit: int) -> bool:
    count, stack = 0, [data]
    while stack:
        count += 1
        if count > limit:
            return True
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def load(text: str, outbound: OutboundPolicy | None = None) -> FlowDefinition:
    """Parse YAML or JSON text into a validated flow, or raise InvalidFlow with every problem."""
    return validate(read(text), outbound)


def validate(data: Any, outbound: OutboundPolicy | None = None) -> FlowDefinition:
    """The flow, or InvalidFlow with every problem: first the fields, then the node graph and,
    for a draft (validated, tested or published under `outbound`), the actions' parameters.

    Stored versions load without `outbound`: one that was valid when published keeps loading
    after the policy or a check changed — each call is checked again when it is made.
    """
    try:
        flow = FlowDefinition.model_validate(data)
    except ValidationError as exc:
        raise InvalidFlow(problems.describe(exc, data, FlowDefinition, _HINTS)) from None
    found = graph.problems(flow) + _digest_problems(flow) + shop_events.problems(flow)
    found += audience_trigger.problems(flow) + segment_trigger.problems(flow)
    if outbound is not None:
        found += _parameter_problems(flow, outbound)
    if found:
        raise InvalidFlow(found)
    return flow


def _digest_problems(flow: FlowDefinition) -> list[dict[str, str]]:
    """A digest collects many events of a person, each starting a run: a trigger that lets a
    person in once (or once per N days, or once with no key) would feed it one event."""
    reentry, key = flow.trigger.reentry, flow.trigger.key
    if (
        all(n.digest is None for n in flow.nodes)
        or reentry == "always"
        or (reentry == "once_per_key" and key is not None)
    ):
        return []
    reason = (
        "a flow with a digest collects many events of a person: use reentry: always "
        "(each event once, by its messageId), or once_per_key with a trigger key"
    )
    return [{"path": "trigger.reentry", "reason": reason}]


def _parameter_problems(flow: FlowDefinition, outbound: OutboundPolicy) -> list[dict[str, str]]:
    found = []
    for index, node in enumerate(flow.nodes):
        if node.action is None:
            continue
        for problem in actions.parameter_problems(node.action, node.with_, outbound):
            path = problem["path"]
            where = f"nodes[{index}].with" + ("" if path == "(flow)" else f".{path}")
            found.append({"path": where, "reason": problem["reason"]})
    return found


def canonical(flow: FlowDefinition) -> dict[str, Any]:
    """The definition as it is stored: every field, defaults written out; two definitions that
    mean the same compare equal in this form."""
    return flow.model_dump(mode="json", by_alias=True, exclude_defaults=False)


def json_schema() -> dict[str, Any]:
    schema = FlowDefinition.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Nerve flow definition"
    return schema
