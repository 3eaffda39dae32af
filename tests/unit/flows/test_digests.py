"""Digest nodes: how a mistake in one is reported, and what time travel shows of one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from nerve.flows.definition import InvalidFlow, load
from nerve.flows.simulate import Simulation, scenario_event

FLOW = """
name: back_in_stock
trigger: {event: Back In Stock, reentry: always}
nodes:
  - id: collect
    digest: {window: 1h, key: properties.sku}
  - id: mail
    action: send_email
    with: {template: back_in_stock_digest, topic: back-in-stock}
"""
HEAD = "name: f\ntrigger: {event: Back In Stock, reentry: always}\nnodes:\n"


def _problems(text: str) -> dict[str, str]:
    with pytest.raises(InvalidFlow) as caught:
        load(text)
    return {p["path"]: p["reason"] for p in caught.value.problems}


def test_a_digest_flow_is_valid() -> None:
    flow = load(FLOW)
    assert [n.kind for n in flow.nodes] == ["digest", "action"]
    assert flow.nodes[0].digest is not None and flow.nodes[0].digest.key == "properties.sku"


@pytest.mark.parametrize(
    ("digest", "path", "reason"),
    [
        ("{}", "nodes[0].digest.window", "is required"),
        ("{key: properties.sku}", "nodes[0].digest.window", "is required"),
        ("{window: soon}", "nodes[0].digest.window", "'soon' is not a duration"),
        ("{window: 0s}", "nodes[0].digest.window", "longer than zero"),
        ("{window: 4000d}", "nodes[0].digest.window", "at most 3650 days"),
        ("{window: 1h, key: 'sku >'}", "nodes[0].digest.key", "cannot parse"),
        (
            "{window: 1h, key: '{{ event.properties.sku }}'}",
            "nodes[0].digest.key",
            "not a template",
        ),
        ("{window: 1h, every: 2}", "nodes[0].digest.every", "allowed here: window, key"),
        ("1h", "nodes[0].digest", "must be {window: 1h}"),
    ],
)
def test_a_bad_digest_is_reported_at_its_field(digest: str, path: str, reason: str) -> None:
    problems = _problems(HEAD + f"  - {{id: collect, digest: {digest}}}\n")
    assert path in problems and reason in problems[path], problems


def test_a_digest_window_until_a_time_of_day_must_be_quoted() -> None:
    problems = _problems(HEAD + "  - {id: collect, digest: {window: {until: 9}}}\n")
    assert "quotes" in problems["nodes[0].digest.window.until"]
    flow = load(HEAD + "  - {id: collect, digest: {window: {until: '09:00'}}}\n")
    assert flow.uses_profile  # the person's time zone decides when the window closes


def test_a_digest_needs_a_trigger_that_lets_every_event_in() -> None:
    once = FLOW.replace("reentry: always", "reentry: once")
    assert "reentry: always" in _problems(once)["trigger.reentry"]
    assert "trigger.reentry" in _problems(FLOW.replace(", reentry: always", ""))
    load(FLOW.replace("reentry: always", "reentry: once_per_key, key: properties.sku"))


def test_no_way_leads_back_to_a_digest() -> None:
    looping = HEAD + (
        "  - {id: collect, digest: {window: 1h}}\n"
        "  - {id: mail, action: webhook, with: {url: 'https://shop.example/x'}}\n"
        "  - {id: pause, wait: 1d}\n"
        "  - {id: again, branch: [{when: 'run.visits.mail < 3', goto: collect}]}\n"
    )
    assert _problems(looping) == {
        "nodes[0].digest": "collect → mail → pause → again → collect leads back to the digest; "
        "a run reaches a digest once, with the event that started it"
    }


def _event(minute: int, sku: str, message_id: str) -> dict[str, Any]:
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=minute)
    return scenario_event(
        {"userId": "anna", "type": "track", "event": "Back In Stock", "messageId": message_id,
         "timestamp": at.isoformat(), "properties": {"sku": sku}},
        "test",
    )  # fmt: skip


def test_time_travel_shows_one_digest_per_window() -> None:
    flow = load(FLOW)
    events = [_event(n * 5, f"SKU-{n % 4}", f"m{n}") for n in range(8)]  # SKU-0..3 twice each
    events.append(_event(20, "SKU-9", "m3"))  # m3 again: the same item as before
    events.append(_event(90, "SKU-1", "late"))  # after the first window closed at 10:00
    timeline = Simulation(flow).run(sorted(events, key=lambda e: e["_at"]))
    closed = [e for e in timeline if e.what == "digest closed"]
    assert [(e.at.strftime("%H:%M"), e.detail["keys"]) for e in closed] == [
        ("10:00", ["SKU-0", "SKU-1", "SKU-2", "SKU-3"]),
        ("11:30", ["SKU-1"]),
    ]
    sends = [e for e in timeline if e.what == "action send_email"]
    assert len(sends) == 2 and sends[0].run == closed[0].run
    # The run that opened the window sends it; seven others added to it (four a sku it had)
    # and ended; the message sent twice started nothing.
    added = [e for e in timeline if e.what == "collected" and "sent_by" in e.detail]
    assert len(added) == 7 and {e.detail["sent_by"] for e in added} == {closed[0].run}
    assert [e.detail["duplicate"] for e in added].count(True) == 4
