"""Time travel: run a flow against scripted events on a simulated clock, deliver nothing.

`nerve flows test FLOW --events SCENARIO.jsonl` — a 72-hour series runs in well under a second
because the clock jumps from one due moment to the next.
"""

from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

import orjson

from nerve.flows import budget
from nerve.flows.budget import StepBudget
from nerve.flows.definition import FlowDefinition, Reentry
from nerve.flows.interpreter import (
    Act,
    AwaitEvent,
    Collect,
    Complete,
    Run,
    Sleep,
    StepFailed,
    decide,
    event_matches,
    exit_reached,
    trigger_key,
    trigger_matches,
)
from nerve.profiles.sketch import PersonSketch
from nerve.settings import Settings


@dataclass(frozen=True)
class Entry:
    at: datetime
    run: str
    what: str
    detail: dict[str, Any] = field(default_factory=dict)


class ScenarioError(ValueError):
    """A scenario file that cannot be read: the line and the reason."""


@dataclass(frozen=True)
class SimulationBudget:
    """How far one time-travel test goes: steps over all its runs and wall-clock seconds
    (NERVE_FLOW_TEST_MAX_*) — a flow that loops through a wait forever would otherwise travel
    on forever — and each run's own step budget, as in the engine."""

    steps: int = 100_000
    seconds: float = 10.0
    run: StepBudget = field(default_factory=StepBudget)

    @classmethod
    def configured(cls, settings: Settings) -> SimulationBudget:
        run = StepBudget(settings.flow_run_steps_per_hour, settings.flow_run_steps_total)
        return cls(settings.flow_test_max_steps, settings.flow_test_max_seconds, run)


@dataclass(frozen=True)
class Stopped:
    """The test stopped at its budget; the timeline shows what happened until then."""

    budget: str  # steps | seconds
    at: datetime  # the simulated time it had reached
    message: str


class _OutOfBudget(Exception):
    def __init__(self, stopped: Stopped) -> None:
        super().__init__(stopped.message)
        self.stopped = stopped


def _stop(kind: str, at: datetime, why: str) -> NoReturn:
    raise _OutOfBudget(Stopped(kind, at, f"{why}; the timeline shows what happened until then"))


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


@dataclass
class _Waiting:
    run: Run
    wait: AwaitEvent


@dataclass
class _Digest:
    """An open digest of the simulation: its owner run, its items by key, in order."""

    owner: Run
    opened_at: datetime
    closes_at: datetime
    then: str
    items: dict[str, dict[str, Any]] = field(default_factory=dict)


class Simulation:
    def __init__(self, flow: FlowDefinition, limits: SimulationBudget | None = None) -> None:
        self.flow = flow
        self.limits = limits or SimulationBudget()
        self.timeline: list[Entry] = []
        self.stopped: Stopped | None = None
        self._steps = 0
        self._deadline = 0.0
        self._spent: dict[str, dict[str, Any]] = {}  # run id → its step budget spent
        self._queue: list[tuple[datetime, int, str, Any]] = []
        self._seq = itertools.count()
        self._runs: dict[str, Run] = {}
        self._waiting: dict[str, _Waiting] = {}
        self._entries: dict[tuple[str, str], datetime] = {}
        self._ids = itertools.count(1)
        self._people: dict[str, PersonSketch] = {}
        self._digests: dict[tuple[str, str], _Digest] = {}  # (node, person) → the open one

    def run(self, events: list[dict[str, Any]]) -> list[Entry]:
        """The timeline; if the test stopped at its budget, `stopped` says so."""
        self._deadline = time.monotonic() + self.limits.seconds
        for event in events:
            self._push(event["_at"], "event", event)
        try:
            self._travel()
        except _OutOfBudget as out:
            self.stopped = out.stopped
        except OverflowError:  # a wait from an event near 9999-12-31
            raise ScenarioError("the scenario runs past the year 9999") from None
        return self.timeline

    def _travel(self) -> None:
        while self._queue:
            at, _, kind, item = heapq.heappop(self._queue)
            self._check_clock(at)
            if kind == "event":
                self._on_event(at, item)
            elif kind == "wake" and item[0].id in self._runs:
                self._advance(item[0], item[1], at)
            elif kind == "timeout" and item.id in self._waiting:
                waiting = self._waiting.pop(item.id)
                self._log(at, item, "wait_for_event timed out", {"node": waiting.wait.node})
                self._advance(item, waiting.wait.on_timeout, at)
            elif kind == "close":
                group, digest = item
                self._close(group, digest, at)

    def _check_clock(self, at: datetime) -> None:
        if time.monotonic() > self._deadline:
            why = f"stopped after {self.limits.seconds:g} s, the longest a test runs"
            _stop("seconds", at, f"{why} (NERVE_FLOW_TEST_MAX_SECONDS)")

    def _spend(self, run: Run, at: datetime) -> str | None:
        """Count the nodes the last decision reached: the test's steps, and the run's budget
        (why the run fails, if it is over)."""
        self._steps += len(run.visited)
        if self._steps > self.limits.steps:
            why = f"stopped after {self.limits.steps:,} steps, the most a test takes"
            _stop("steps", at, f"{why} (NERVE_FLOW_TEST_MAX_STEPS)")
        self._spent[run.id] = budget.spend(self._spent.get(run.id), len(run.visited), at)
        return self.limits.run.exceeded(self._spent[run.id])

    def _push(self, at: datetime, kind: str, item: Any) -> None:
        heapq.heappush(self._queue, (at, next(self._seq), kind, item))

    def _log(self, at: datetime, run: Run, what: str, detail: dict[str, Any] | None = None) -> None:
        self.timeline.append(Entry(at, run.id, what, detail or {}))

    def _on_event(self, at: datetime, event: dict[str, Any]) -> None:
        person = str(event.get("userId") or event.get("anonymousId"))
        sketch = self._people.setdefault(person, PersonSketch(person))
        sketch.observe(event, at)
        # The person view, as the engine reads it fresh for each decision.
        profile = sketch.view()
        for run in [r for r in self._runs.values() if r.profile_id == person]:
            run.profile = profile
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
        if policy == "always":  # as the engine: an event sent twice (its messageId) enters once
            if event.get("messageId") is None:
                return True
            key = f"messageId:{event['messageId']}"
        previous = self._entries.get((person, key))
        if previous is None or (
            isinstance(policy, Reentry) and at - previous >= timedelta(days=policy.every_days)
        ):
            self._entries[(person, key)] = at
            return True
        return False

    def _advance(self, run: Run, node: str, at: datetime) -> None:
        while True:
            self._check_clock(at)
            try:
                decision = decide(self.flow, run, node, at)
            except StepFailed as exc:  # the engine would dead-letter the run here
                self._finish(at, run, "failed", {"node": node, "error": str(exc)})
                return
            over = self._spend(run, at)
            if over is not None and not isinstance(decision, Complete):  # as the engine does
                self._finish(at, run, "failed", {"node": node, "error": over})
                return
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
            elif isinstance(decision, Collect):
                self._collect(run, decision, at)
            elif isinstance(decision, Complete):
                self._finish(at, run, decision.reason)
            return

    def _collect(self, run: Run, collect: Collect, at: datetime) -> None:
        """As digest.py does: the first run opens the digest and waits for its close, the
        others add their item and end; a digest whose owner ended is left for a new one."""
        group = (collect.node, run.profile_id)
        digest = self._digests.get(group)
        if digest is None or digest.owner.id not in self._runs:
            digest = _Digest(run, at, collect.closes_at, collect.then)
            self._digests[group] = digest
            self._push(collect.closes_at, "close", (group, digest))
        detail = {"node": collect.node, "item": collect.key,
                  "duplicate": collect.key in digest.items}  # fmt: skip
        digest.items.setdefault(collect.key, collect.item)
        if digest.owner is run:
            until = collect.closes_at.isoformat()
            self._log(at, run, "collected", detail | {"opened": True, "until": until})
        else:
            self._finish(at, run, "collected", detail | {"sent_by": digest.owner.id})

    def _close(self, group: tuple[str, str], digest: _Digest, at: datetime) -> None:
        if self._digests.get(group) is not digest:
            return
        del self._digests[group]
        run = digest.owner
        if run.id not in self._runs:
            return  # the owner left the flow: the engine abandons the digest
        items = list(digest.items.values())
        run.data["digest"] = {"items": items, "count": len(items),
                              "opened_at": digest.opened_at.isoformat(),
                              "closes_at": digest.closes_at.isoformat()}  # fmt: skip
        detail = {"node": group[0], "items": len(items), "keys": list(digest.items)}
        self._log(at, run, "digest closed", detail)
        self._advance(run, digest.then, at)

    def _finish(
        self, at: datetime, run: Run, reason: str, detail: dict[str, Any] | None = None
    ) -> None:
        self._runs.pop(run.id, None)
        self._waiting.pop(run.id, None)
        self._log(at, run, reason, detail)


def run(
    flow: FlowDefinition, events: list[Any], limits: SimulationBudget | None = None
) -> dict[str, Any]:
    """Simulate `events` (Segment-shaped, each with `timestamp`): the timeline as JSON, and
    whether the test stopped at its budget."""
    scenario = [scenario_event(event, f"events[{n}]") for n, event in enumerate(events)]
    simulation = Simulation(flow, limits)
    timeline = timeline_json(simulation.run(scenario))
    return {"timeline": timeline, "stopped": stopped_json(simulation.stopped)}


def stopped_json(stopped: Stopped | None) -> dict[str, Any] | None:
    if stopped is None:
        return None
    return {"budget": stopped.budget, "at": stopped.at.isoformat(), "message": stopped.message}


def timeline_json(timeline: list[Entry]) -> list[dict[str, Any]]:
    return [
        {"at": e.at.isoformat(), "run": e.run, "what": e.what, "detail": e.detail} for e in timeline
    ]
