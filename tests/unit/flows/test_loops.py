"""Loops on the time-travel simulator: each visit of a node is a step of its own (its own
idempotency key, as the engine derives it), counted against the run's step budget; the test
itself stops at its budget of steps and seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from nerve.flows import budget
from nerve.flows.budget import StepBudget
from nerve.flows.definition import FlowDefinition, load
from nerve.flows.interpreter import idempotency_key
from nerve.flows.simulate import Simulation, SimulationBudget, read_scenario

START = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _flow(nodes: str) -> str:
    return f"name: loop\ntrigger: {{event: Signed Up}}\nnodes:\n{nodes}"


# --- the simulator ----------------------------------------------------------------------------

REMINDERS = load(
    _flow(
        """
  - {id: remind, action: webhook, with: {url: "http://127.0.0.1/r"}}
  - {id: pause, wait: 1d}
  - {id: check, branch: [{when: "run.visits.remind < 3", goto: remind}]}
"""
    )
)
FOREVER = load(
    _flow(
        """
  - {id: remind, action: webhook, with: {url: "http://127.0.0.1/r"}}
  - {id: pause, wait: 1h}
  - {id: check, branch: [{else: true, goto: remind}]}
"""
    )
)


def _simulate(
    flow: FlowDefinition, people: int = 1, limits: SimulationBudget | None = None, **extra: Any
) -> Simulation:
    events = [
        {"userId": f"p{n}", "event": "Signed Up", "timestamp": START.isoformat(), **extra}
        for n in range(people)
    ]
    simulation = Simulation(flow, limits)
    simulation.run(read_scenario("\n".join(orjson.dumps(e).decode() for e in events)))
    return simulation


def test_each_visit_of_a_loop_shows_its_own_key_as_the_engine_derives_it() -> None:
    timeline = _simulate(REMINDERS).timeline
    sent = [e for e in timeline if e.what == "action webhook"]
    assert [e.at - START for e in sent] == [timedelta(0), timedelta(days=1), timedelta(days=2)]
    keys = [e.detail["idempotency_key"] for e in sent]
    assert keys == [idempotency_key("run-1", "remind", visit) for visit in (1, 2, 3)]
    assert len(set(keys)) == 3
    assert timeline[-1].what == "completed"


def test_a_run_over_its_step_budget_fails_as_it_would_in_the_engine() -> None:
    limits = SimulationBudget(run=StepBudget(per_hour=100, total=20))
    simulation = _simulate(FOREVER, people=2, limits=limits)
    assert simulation.stopped is None  # every run ended: both failed at their budget
    failed = [e for e in simulation.timeline if e.what == "failed"]
    assert {e.run for e in failed} == {"run-1", "run-2"}
    assert "step budget exceeded" in failed[0].detail["error"]
    assert "NERVE_FLOW_RUN_STEPS_TOTAL" in failed[0].detail["error"]


def test_the_test_stops_at_its_step_budget_with_what_it_did_so_far() -> None:
    limits = SimulationBudget(steps=500, run=StepBudget(per_hour=10**9, total=10**9))
    simulation = _simulate(FOREVER, limits=limits)
    assert simulation.stopped is not None and simulation.stopped.budget == "steps"
    assert "NERVE_FLOW_TEST_MAX_STEPS" in simulation.stopped.message
    sent = [e for e in simulation.timeline if e.what == "action webhook"]
    assert 150 <= len(sent) <= 170  # 3 steps a lap
    assert simulation.stopped.at == sent[-1].at + timedelta(hours=1)


def test_the_test_stops_at_its_time_budget() -> None:
    limits = SimulationBudget(seconds=1e-6, run=StepBudget(per_hour=10**9, total=10**9))
    simulation = _simulate(FOREVER, limits=limits)
    assert simulation.stopped is not None and simulation.stopped.budget == "seconds"
    assert "NERVE_FLOW_TEST_MAX_SECONDS" in simulation.stopped.message


def test_a_condition_beyond_the_limits_fails_the_run_and_no_other() -> None:
    flow = load(
        _flow(
            """
  - {id: long, branch: [{when: "properties.word * properties.times == ''", goto: end}]}
  - {id: greet, action: add_tag, with: {tag: greeted}}
"""
        )
    )
    simulation = _simulate(flow, people=2, properties={"word": "spam", "times": 10**9})
    failed = [e for e in simulation.timeline if e.what == "failed"]
    assert [e.detail["node"] for e in failed] == ["long", "long"]
    assert "longer than 65,536 characters" in failed[0].detail["error"]


# --- the budget itself ------------------------------------------------------------------------


def test_the_hourly_budget_counts_from_the_first_step_of_the_hour() -> None:
    limits = StepBudget(per_hour=10, total=25)
    used = budget.spend(None, 6, START)
    used = budget.spend(used, 5, START + timedelta(minutes=59))
    assert used["in_hour"] == 11 and limits.exceeded(used) is not None
    later = budget.spend(used, 5, START + timedelta(hours=1))  # a new hour
    assert (later["in_hour"], later["total"]) == (5, 16) and limits.exceeded(later) is None
    last = budget.spend(later, 10, START + timedelta(hours=3))
    assert limits.exceeded(last) is not None and "in all" in str(limits.exceeded(last))
