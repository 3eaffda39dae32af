"""Loops on the time-travel simulator: each visit of a node is a step of its own, with its own
idempotency key, as the engine derives it; a condition beyond the limits fails its run as it
would in the engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from nerve.flows.definition import FlowDefinition, load
from nerve.flows.interpreter import idempotency_key
from nerve.flows.simulate import Simulation, read_scenario

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


def _simulate(flow: FlowDefinition, people: int = 1, **extra: Any) -> Simulation:
    events = [
        {"userId": f"p{n}", "event": "Signed Up", "timestamp": START.isoformat(), **extra}
        for n in range(people)
    ]
    simulation = Simulation(flow)
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
