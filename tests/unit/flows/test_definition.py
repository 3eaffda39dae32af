"""Flow definitions: the shipped example is valid; mistakes come back with path and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from nerve.flows.definition import END, InvalidFlow, json_schema, load
from nerve.flows.durations import parse_duration

EXAMPLE = Path(__file__).parents[3] / "flows" / "abandoned_cart.yaml"


def test_the_abandoned_cart_example_is_valid() -> None:
    flow = load(EXAMPLE.read_text())
    assert [n.kind for n in flow.nodes] == ["wait", "action", "wait", "action", "wait", "action"]
    assert flow.after("wait_2h") == "first_reminder" and flow.after("last_reminder") == END
    assert flow.exit[0].goal


def _problems(text: str) -> dict[str, str]:
    with pytest.raises(InvalidFlow) as caught:
        load(text)
    return {p["path"]: p["reason"] for p in caught.value.problems}


def test_every_field_problem_is_reported_with_its_path() -> None:
    problems = _problems(
        """
name: Bad Name
trigger: {event: ""}
nodes:
  - id: a
    wait: 2 parsecs
  - id: b
    branch: [{when: "x >", goto: end}]
  - id: c
    split: [{percent: 60, goto: end}, {percent: 30, goto: a}]
  - id: d
    action: webhook
    wait: 2h
"""
    )
    assert set(problems) == {
        "name",
        "trigger.event",
        "nodes[0].wait",
        "nodes[1].branch[0].when",
        "nodes[2]",
        "nodes[3]",
    }
    assert "duration" in problems["nodes[0].wait"] and "100" in problems["nodes[2]"]


def test_graph_problems_point_at_the_field_to_change() -> None:
    base = "name: f\ntrigger: {event: E}\nnodes:\n"
    assert _problems(base + "  - {id: a, wait: 1h}\n  - {id: a, wait: 1h}\n") == {
        "nodes[1].id": "'a' is already the id of nodes[0]; ids must be unique"
    }
    assert _problems(
        base + "  - {id: a, wait: 1h}\n  - {id: b, branch: [{else: true, goto: c}]}\n"
    ) == {"nodes[1].branch[0].goto": "there is no node 'c'; use a node id, `next` or `end`"}
    assert _problems(base + "  - {id: a, action: sms}\n") == {
        "nodes[0].action": "unknown action 'sms'; known actions: add_tag, send_email, send_push, send_sms, slack, update_profile, webhook"
    }
    assert "(file)" in _problems("name: [unclosed")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2h", 7200), ("30m", 1800), ("1d 12h", 129600), ("PT2H", 7200), ("90s", 90), ("1w", 604800)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


def test_the_json_schema_is_published_shape() -> None:
    schema = json_schema()
    assert schema["title"] == "Nerve flow definition" and "nodes" in schema["properties"]


def test_waits_and_reentry_are_bounded_to_ten_years() -> None:
    # Beyond ~2.7 million years no timedelta holds a wait: that was an OverflowError (a 500
    # from the API), now it is a problem of the flow like any other.
    base = "name: f\ntrigger: {event: E%s}\nnodes:\n  - {id: a, wait: %s}\n"
    assert "at most 3650 days" in _problems(base % ("", "99999999999d"))["nodes[0].wait"]
    assert "at most 3650 days" in _problems(base % ("", "3651d"))["nodes[0].wait"]
    reentry = _problems(base % (", reentry: {every_days: 1000000000000}", "1h"))
    assert "3650" in reentry["trigger.reentry.every_days"]
    assert parse_duration("3650d").days == 3650
