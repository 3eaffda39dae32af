"""Time travel: run a flow against scripted events on a simulated clock, deliver nothing.

`nerve flows test FLOW --events SCENARIO.jsonl` — a 72-hour series runs in well under a second
because the clock jumps from one due moment to the next.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from nerve.flows.definition import FlowDefinition, Reentry
from nerve.flows.interpreter import (
    Act,
    AwaitEvent,
    Complete,
    Run,
    Sleep,
    decide,
    event_matches,
    exit_reached,
    trigger_key,
    trigger_matches,
)


@dataclass(frozen=True)
class Entry:
    at: datetime
    run: str
    what: str
    detail: dict[str, Any] = field(default_factory=dict)


class ScenarioError(ValueError):
    """A scenario file that cannot be read: the line and the reason."""


def read_scenario(text: str) -> list[dict[str, Any]]:
    events = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            # orjson counts lines and columns within this one line: report only the column.
            raise ScenarioError(
                f"line {number}: not JSON ({exc.msg} at column {exc.colno})"
            ) from None
        events.append(scenario_event(event, f"line {number}"))
    return events


def scenario_event(event: Any, where: str) -> dict[str, Any]:
    """One scripted event, checked, with its time parsed into `_at`."""
    if not isinstance(event, dict) or not (event.get("userId") or event.get("anonymousId")):
        raise ScenarioError(f"{where}: an event object with userId or anonymousId")
    try:
        at = datetime.fromisoformat(str(event["timestamp"]))
    except (KeyError, ValueError):
        raise ScenarioError(f"{where}: `timestamp` must be an ISO 8601 time") from None
    return event | {"_at": at if at.tzinfo is not None else at.replace(tzinfo=UTC)}


def _observe(person: dict[str, Any], event: dict[str, Any]) -> None:
    """The scenario's people, as conditions see them: traits from identify calls (and
    context.traits), order count and spend from Order Completed (once per order id), and the
    time zone the device reported. A reduced version of the engine's profile."""
    context: dict[str, Any] = event.get("context") or {}
    if not isinstance(context, dict):
        context = {}
    for source in (context.get("traits"), event.get("traits")):
        if isinstance(source, dict):
            person["traits"].update(source)
    computed = person["computed"]
    if isinstance(context.get("timezone"), str):
        computed["timezone"] = context["timezone"]
    properties: dict[str, Any] = event.get("properties") or {}
    if not isinstance(properties, dict):
        properties = {}
    order = properties.get("order_id")
    if event.get("event") == "Order Completed" and order not in person["orders"]:
        person["orders"].add(order)
        total = properties.get("total", properties.get("revenue", 0))
        computed["order_count"] += 1
        computed["total_spent"] += float(total) if isinstance(total, int | float) else 0.0
        computed["last_order_at"] = event["_at"]


@dataclass
class _Waiting:
    run: Run
    wait: AwaitEvent


class Simulation:
    def __init__(self, flow: FlowDefinition) -> None:
        self.flow = flow
        self.timeline: list[Entry] = []
        self._queue: list[tuple[datetime, int, str, Any]] = []
        self._seq = itertools.count()
        self._runs: dict[str, Run] = {}
        self._waiting: dict[str, _Waiting] = {}
        self._entries: dict[tuple[str, str], datetime] = {}
        self._ids = itertools.count(1)
        self._people: dict[str, dict[str, Any]] = {}

    def run(self, events: list[dict[str, Any]]) -> list[Entry]:
        for event in events:
            self._push(event["_at"], "event", event)
        while self._queue:
            at, _, kind, item = heapq.heappop(self._queue)
            if kind == "event":
                self._on_event(at, item)
            elif kind == "wake" and item[0].id in self._runs:
                self._advance(item[0], item[1], at)
            elif kind == "timeout" and item.id in self._waiting:
                waiting = self._waiting.pop(item.id)
                self._log(at, item, "wait_for_event timed out", {"node": waiting.wait.node})
                self._advance(item, waiting.wait.on_timeout, at)
        return self.timeline

    def _push(self, at: datetime, kind: str, item: Any) -> None:
        heapq.heappush(self._queue, (at, next(self._seq), kind, item))

    def _log(self, at: datetime, run: Run, what: str, detail: dict[str, Any] | None = None) -> None:
        self.timeline.append(Entry(at, run.id, what, detail or {}))

    def _person(self, person: str) -> dict[str, Any]:
        """One dict per person, shared by their runs: decisions see them as they are now."""
        return self._people.setdefault(
            person,
            {"traits": {}, "orders": set(),
             "computed": {"order_count": 0, "total_spent": 0.0, "last_order_at": None}},
        )  # fmt: skip

    def _on_event(self, at: datetime, event: dict[str, Any]) -> None:
        person = str(event.get("userId") or event.get("anonymousId"))
        profile = self._person(person)
        _observe(profile, event)
        for run in [r for r in self._runs.values() if r.profile_id == person]:
            left, goal = exit_reached(self.flow, run, event)
            if left:
                self._finish(
                    at, run, "goal reached" if goal else "exited", {"event": event.get("event")}
                )
                continue
            waiting = self._waiting.get(run.id)
            if (
                waiting
                and event.get("event") == waiting.wait.event
                and event_matches(waiting.wait.where, run, event)
            ):
                del self._waiting[run.id]
                self._log(at, run, f"{waiting.wait.event} arrived", {"node": waiting.wait.node})
                self._advance(run, waiting.wait.on_event, at)
        if trigger_matches(self.flow, event, profile) and self._may_enter(at, person, event):
            run = Run(f"run-{next(self._ids)}", person, event, profile)
            self._runs[run.id] = run
            self._log(
                at, run, "run started", {"profile": person, "key": trigger_key(self.flow, event)}
            )
            self._advance(run, self.flow.nodes[0].id, at)

    def _may_enter(self, at: datetime, person: str, event: dict[str, Any]) -> bool:
        policy = self.flow.trigger.reentry
        key = trigger_key(self.flow, event) if policy == "once_per_key" else ""
        previous = self._entries.get((person, key))
        if (
            policy == "always"
            or previous is None
            or (isinstance(policy, Reentry) and at - previous >= timedelta(days=policy.every_days))
        ):
            self._entries[(person, key)] = at
            return True
        return False

    def _advance(self, run: Run, node: str, at: datetime) -> None:
        while True:
            decision = decide(self.flow, run, node, at)
            for passed, kind, goto, path in run.passed:
                detail = {"node": passed, "goto": goto} | ({"path": path} if path else {})
                self._log(at, run, kind, detail)
            if isinstance(decision, Sleep):
                self._log(
                    at, run, "waiting", {"until": decision.until.isoformat(), "then": decision.node}
                )
                self._push(decision.until, "wake", (run, decision.node))
            elif isinstance(decision, AwaitEvent):
                self._waiting[run.id] = _Waiting(run, decision)
                self._log(
                    at,
                    run,
                    f"waiting for {decision.event}",
                    {"timeout": decision.timeout_at.isoformat()},
                )
                self._push(decision.timeout_at, "timeout", run)
            elif isinstance(decision, Act):
                self._log(
                    at,
                    run,
                    f"action {decision.action}",
                    {
                        "node": decision.node,
                        "with": decision.params,
                        "idempotency_key": decision.idempotency_key,
                    },
                )
                node = decision.then
                continue
            elif isinstance(decision, Complete):
                self._finish(at, run, decision.reason)
            return

    def _finish(
        self, at: datetime, run: Run, reason: str, detail: dict[str, Any] | None = None
    ) -> None:
        self._runs.pop(run.id, None)
        self._waiting.pop(run.id, None)
        self._log(at, run, reason, detail)


def run(flow: FlowDefinition, events: list[Any]) -> list[dict[str, Any]]:
    """Simulate `events` (Segment-shaped, each with `timestamp`), the timeline as JSON."""
    scenario = [scenario_event(event, f"events[{n}]") for n, event in enumerate(events)]
    try:
        return timeline_json(Simulation(flow).run(scenario))
    except OverflowError:  # a wait from an event near 9999-12-31
        raise ScenarioError("the scenario runs past the year 9999") from None


def timeline_json(timeline: list[Entry]) -> list[dict[str, Any]]:
    return [
        {"at": e.at.isoformat(), "run": e.run, "what": e.what, "detail": e.detail} for e in timeline
    ]
