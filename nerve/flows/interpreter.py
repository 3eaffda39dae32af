"""What a run does next — pure decisions, no I/O, shared by the durable engine and time travel.

The executor (database-backed or simulated) owns the clock and the side effects; it asks the
interpreter where a run goes from a node and gets back one `Decision`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog

from nerve.flows import segment_trigger, shop_events
from nerve.flows.definition import END, FlowDefinition, Node, SplitPath, WaitUntil
from nerve.flows.durations import parse_duration
from nerve.flows.expressions import EvaluationError, parse

log = structlog.get_logger(__name__)
T = TypeVar("T")


@dataclass
class Run:
    """The state a run carries between steps (persisted as JSON by the executor)."""

    id: str
    profile_id: str
    trigger: dict[str, Any]
    profile: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    # Branches and splits taken by the last `decide`: (node, "branched"|"split", next node,
    # split path name).
    passed: list[tuple[str, str, str, str | None]] = field(default_factory=list)
    # Every node the last `decide` reached: the steps it spent (see budget.py).
    visited: list[str] = field(default_factory=list)

    def visit(self, node_id: str) -> int:
        """Count a visit of the node in the run's data (`run.visits.<node>` in conditions):
        the how-manyth time this run reaches it."""
        visits = self.data.setdefault("visits", {})
        visits[node_id] = visits.get(node_id, 0) + 1
        self.visited.append(node_id)
        return int(visits[node_id])


class StepFailed(Exception):
    """A step that cannot be taken as the flow is written — a condition that cannot be
    evaluated within the limits: the run goes to the dead-letter queue, with the reason."""

    def __init__(self, node: str, reason: str) -> None:
        super().__init__(f"node {node}: {reason}")
        self.node = node


@dataclass(frozen=True)
class Sleep:
    """Continue at `node` when the clock reaches `until`."""

    node: str
    until: datetime
    waiting_at: str | None = None  # the wait node


@dataclass(frozen=True)
class AwaitEvent:
    node: str
    event: str
    where: str | None
    timeout_at: datetime
    on_event: str
    on_timeout: str


@dataclass(frozen=True)
class Act:
    node: str
    action: str
    params: dict[str, Any]
    idempotency_key: str
    then: str


@dataclass(frozen=True)
class Collect:
    """Add the run's event (`item`, its properties) to the person's open digest at `node`
    under `key`. The run that opens the digest waits until `closes_at`, then goes on to
    `then` with every item; the others end there (see digest.py)."""

    node: str
    key: str
    item: dict[str, Any]
    closes_at: datetime
    then: str


@dataclass(frozen=True)
class Complete:
    reason: str = "completed"


Decision = Sleep | AwaitEvent | Act | Collect | Complete


def scope(run: Run, event: dict[str, Any] | None = None) -> dict[str, Any]:
    """Names an expression can use: the event (or trigger), `trigger`, `profile`, `run`."""
    current = event if event is not None else run.trigger
    return {
        **{k: v for k, v in current.items() if isinstance(k, str)},
        "event": current,
        "trigger": run.trigger,
        "profile": run.profile,
        "run": run.data,
    }


def idempotency_key(run_id: str, node_id: str, visit: int) -> str:
    """Run + node + visit: the same for every attempt, replay and crash recovery of one visit
    (it is decided once, when the run reaches the node, and kept with the task), and another
    for each time a loop brings the run back — a receiver that drops duplicates must not drop
    the second reminder as a copy of the first."""
    return hashlib.sha256(f"{run_id}:{node_id}:{visit}".encode()).hexdigest()[:32]


def split_choice(run: Run, node: Node) -> SplitPath:
    """Deterministic per profile (and flow node): the same person always takes the same path."""
    assert node.split is not None
    digest = hashlib.sha256(f"{run.profile_id}:{node.id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * 100
    cumulative = 0.0
    for path in node.split:
        cumulative += path.percent
        if point < cumulative:
            return path
    return node.split[-1]


def _person_zone(run: Run) -> str:
    """The profile's time zone; else the one the triggering device reported (Segment's
    context.timezone), because runs start without the profile loaded; else UTC."""
    context = run.trigger.get("context")
    reported = context.get("timezone") if isinstance(context, dict) else None
    return str((run.profile.get("computed") or {}).get("timezone") or reported or "UTC")


def _local_time(now: datetime, wait: WaitUntil, run: Run) -> datetime:
    zone_name = _person_zone(run) if wait.timezone == "profile" else wait.timezone
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    target = local.replace(hour=wait.until.hour, minute=wait.until.minute, second=0, microsecond=0)
    if target <= local:
        target += timedelta(days=1)
    return target


def decide(flow: FlowDefinition, run: Run, node_id: str, now: datetime) -> Decision:
    """From `node_id`, follow instant nodes (branch, split) until something takes time.
    Raises StepFailed when a branch's condition cannot be evaluated."""
    run.passed.clear()
    run.visited.clear()
    for _ in range(len(flow.nodes) + 1):
        if node_id == END:
            return Complete()
        node = flow.node(node_id)
        visit = run.visit(node.id)
        if node.branch is not None:
            node_id = flow.after(node.id, _branch(node, run))
            run.data.setdefault("path", []).append(node.id)
            run.passed.append((node.id, "branched", node_id, None))
        elif node.split is not None:
            path = split_choice(run, node)
            label = path.name or path.goto
            # The variant, for analysis and for branches: the path's name, else its target.
            run.data.setdefault("splits", {})[node.id] = label
            node_id = flow.after(node.id, path.goto)
            run.passed.append((node.id, "split", node_id, label))
        elif node.wait is not None:
            until = (
                _local_time(now, node.wait, run)
                if isinstance(node.wait, WaitUntil)
                else now + parse_duration(node.wait)
            )
            return Sleep(flow.after(node.id, node.next), until, node.id)
        elif node.wait_for_event is not None:
            w = node.wait_for_event
            return AwaitEvent(
                node.id, w.event, w.where, now + parse_duration(w.timeout),
                flow.after(node.id, w.on_event), flow.after(node.id, w.on_timeout),
            )  # fmt: skip
        elif node.digest is not None:
            return collect(flow, run, node.id, now)
        else:
            assert node.action is not None
            return Act(
                node.id, node.action, node.with_, idempotency_key(run.id, node.id, visit),
                flow.after(node.id, node.next),
            )  # fmt: skip
    # Validation refuses loops without a wait; a version stored before it did fails here.
    raise StepFailed(node_id, "the flow loops through branches without waiting")


def collect(flow: FlowDefinition, run: Run, node_id: str, now: datetime) -> Collect:
    """What the run adds to the digest at `node_id`, and when a digest it opens now closes.
    Raises StepFailed when the key cannot be evaluated."""
    node = flow.node(node_id)
    assert node.digest is not None
    window, expression = node.digest.window, node.digest.key
    closes_at = (
        _local_time(now, window, run) if isinstance(window, WaitUntil)
        else now + parse_duration(window)
    )  # fmt: skip
    key = None
    if expression is not None:
        try:
            key = parse(expression).evaluate(scope(run))
        except EvaluationError as exc:
            raise StepFailed(node.id, f"cannot evaluate {expression!r}: {exc}") from None
    if key is None or key == "":  # no sku on this event: it is an item of its own
        key = run.trigger.get("messageId") or run.id
    properties = run.trigger.get("properties")
    item = properties if isinstance(properties, dict) else {}
    return Collect(node.id, str(key)[:255], item, closes_at, flow.after(node.id, node.next))


def _branch(node: Node, run: Run) -> str:
    assert node.branch is not None
    for case in node.branch:
        if case.otherwise:
            return case.goto
        assert case.when is not None
        try:
            if parse(case.when).test(scope(run)):
                return case.goto
        except EvaluationError as exc:
            raise StepFailed(node.id, f"cannot evaluate {case.when!r}: {exc}") from None
    return node.next  # no case holds: on to `next` (by default the node below)


def _or_not(condition: str, evaluate: Callable[[], T]) -> T | None:
    """A trigger, exit or wait condition that cannot be evaluated within the limits does not
    hold (logged): one event must not stop other flows, or other runs, from seeing it."""
    try:
        return evaluate()
    except EvaluationError as exc:
        log.warning("flow_condition_failed", condition=condition, error=str(exc))
        return None


def trigger_named(flow: FlowDefinition, event: dict[str, Any]) -> bool:
    """The cheap half of `trigger_matches`: the event's name (or type) alone. A shop event
    (catalog) matches only flows of its trigger type, and a person's event only `event` flows
    (or `segment` flows, by their segment's own entry and exit events)."""
    if flow.trigger.type == segment_trigger.SEGMENT:
        return segment_trigger.matches(flow, event)
    if flow.trigger.type != "event" or event.get("type") in shop_events.SHOP_EVENTS:
        return event.get("type") == flow.trigger.type and event.get("event") == flow.trigger.event
    return event.get("event") == flow.trigger.event or event.get("type") == flow.trigger.event


def trigger_matches(flow: FlowDefinition, event: dict[str, Any], profile: dict[str, Any]) -> bool:
    if not trigger_named(flow, event):
        return False
    names = scope(Run("probe", "", event, profile))
    where, key = flow.trigger.where, flow.trigger.key
    if where is not None and not _or_not(where, lambda: parse(where).test(names)):
        return False
    # A key that cannot be evaluated within the limits starts no run (rather than one keyed "").
    return key is None or _or_not(key, lambda: parse(key).evaluate(names) or True) is not None


def trigger_key(flow: FlowDefinition, event: dict[str, Any]) -> str:
    key = flow.trigger.key
    if key is None:
        return ""
    value = _or_not(key, lambda: parse(key).evaluate(scope(Run("probe", "", event))))
    return "" if value is None else str(value)[:255]


def exit_reached(flow: FlowDefinition, run: Run, event: dict[str, Any]) -> tuple[bool, bool]:
    """(leave the run?, was it a goal?) for an event of the run's profile."""
    for condition in flow.exit:
        if event.get("event") != condition.event:
            continue
        if condition.where is None or _holds(condition.where, run, event):
            return True, condition.goal
    return False, False


def event_matches(where: str | None, run: Run, event: dict[str, Any]) -> bool:
    return where is None or _holds(where, run, event)


def _holds(where: str, run: Run, event: dict[str, Any]) -> bool:
    return bool(_or_not(where, lambda: parse(where).test(scope(run, event))))
