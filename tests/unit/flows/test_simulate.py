"""Time travel: the abandoned-cart series on a simulated clock, both paths, in well under a second."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nerve.flows.definition import load
from nerve.flows.simulate import ScenarioError, Simulation, read_scenario, run

FLOWS = Path(__file__).parents[3] / "flows"


def test_abandoned_cart_both_paths() -> None:
    flow = load((FLOWS / "abandoned_cart.yaml").read_text())
    scenario = read_scenario((FLOWS / "abandoned_cart.scenario.jsonl").read_text())
    started = time.perf_counter()
    timeline = Simulation(flow).run(scenario)
    assert time.perf_counter() - started < 1.0

    anna = [(e.at.strftime("%d %H:%M"), e.what) for e in timeline if e.run == "run-1"]
    assert [w for _, w in anna if w.startswith("action")] == ["action webhook"] * 3
    assert [at for at, w in anna if w.startswith("action")] == ["02 12:00", "03 10:00", "05 10:00"]
    assert anna[-1] == ("05 10:00", "completed")
    ben = [e.what for e in timeline if e.run == "run-2"]
    assert ben.count("action webhook") == 1 and ben[-1] == "goal reached"
    # Anna's repeated checkout of the same cart does not start a second run (once per key).
    assert {e.run for e in timeline} == {"run-1", "run-2"}
    keys = [e.detail["idempotency_key"] for e in timeline if e.what == "action webhook"]
    assert len(keys) == len(set(keys)) == 4


def test_wait_for_event_takes_exactly_one_outcome() -> None:
    flow = load(
        """
name: cart_follow_up
trigger: {event: Product Added, key: properties.cart_id}
nodes:
  - id: wait_checkout
    wait_for_event: {event: Checkout Started, where: "properties.cart_id == trigger.properties.cart_id",
                     timeout: 1h, on_event: thanks, on_timeout: nudge}
  - id: nudge
    action: webhook
    with: {url: "http://127.0.0.1/nudge"}
    next: end
  - id: thanks
    action: webhook
    with: {url: "http://127.0.0.1/thanks"}
"""
    )
    for offset, expected in (("00:30", "thanks"), ("02:00", "nudge"), ("01:00", None)):
        scenario = read_scenario(
            '{"userId": "u", "event": "Product Added", "timestamp": "2026-01-01T00:00:00Z", "properties": {"cart_id": "c"}}\n'
            f'{{"userId": "u", "event": "Checkout Started", "timestamp": "2026-01-01T{offset}:00Z", "properties": {{"cart_id": "c"}}}}\n'
        )
        nodes = [
            e.detail["node"] for e in Simulation(flow).run(scenario) if e.what == "action webhook"
        ]
        assert len(nodes) == 1, nodes  # never both, never none
        if expected:
            assert nodes == [expected]


def test_conditions_on_the_profile_see_the_scenarios_people_as_they_are_then() -> None:
    flow = load(
        """
name: thanks
trigger: {event: Order Completed, reentry: always, where: "profile.traits.plan != 'trial'"}
nodes:
  - {id: loyal, branch: [{when: "profile.computed.order_count >= 2", goto: vip}]}
  - {id: regular, action: add_tag, with: {tag: regular}, next: end}
  - {id: vip, action: add_tag, with: {tag: vip}}
"""
    )
    scenario = read_scenario(
        "\n".join(
            [
                '{"type": "identify", "userId": "tia", "traits": {"plan": "trial"}, "timestamp": "2026-01-01T09:00:00Z"}',
                '{"event": "Order Completed", "userId": "ann", "properties": {"order_id": "a1"}, "timestamp": "2026-01-01T10:00:00Z"}',
                '{"event": "Order Completed", "userId": "ann", "properties": {"order_id": "a1"}, "timestamp": "2026-01-01T10:30:00Z"}',
                '{"event": "Order Completed", "userId": "ann", "properties": {"order_id": "a2"}, "timestamp": "2026-01-02T10:00:00Z"}',
                '{"event": "Order Completed", "userId": "tia", "properties": {"order_id": "t1"}, "timestamp": "2026-01-02T11:00:00Z"}',
            ]
        )
    )
    timeline = Simulation(flow).run(scenario)
    tags = [(e.detail["with"]["tag"]) for e in timeline if e.what == "action add_tag"]
    # The same order sent twice counts once; the trial customer never enters.
    assert tags == ["regular", "regular", "vip"]


def test_a_scenario_that_runs_past_the_year_9999_is_a_scenario_error() -> None:
    flow = load("name: f\ntrigger: {event: E}\nnodes:\n  - {id: a, wait: 1h}\n")
    events = [{"userId": "u", "event": "E", "timestamp": "9999-12-31T23:30:00Z"}]
    with pytest.raises(ScenarioError, match="9999"):
        run(flow, events)
