"""The node graph of a flow: a loop that goes round without a `wait` or `wait_for_event` is
refused, naming its nodes; a loop through one is a valid reminder series. And a YAML file that
expands to billions of values is refused before anything reads it."""

from __future__ import annotations

import pytest

from nerve.flows.definition import InvalidFlow, load


def _flow(nodes: str) -> str:
    return f"name: loop\ntrigger: {{event: Signed Up}}\nnodes:\n{nodes}"


def _loops(nodes: str) -> dict[str, str]:
    with pytest.raises(InvalidFlow) as refused:
        load(_flow(nodes))
    return {p["path"]: p["reason"] for p in refused.value.problems}


_WITHOUT_WAIT = "loops back without waiting; put a wait or wait_for_event on the way"


def test_an_action_looping_back_through_a_branch_without_a_wait_is_refused() -> None:
    assert _loops(
        """
  - {id: remind, action: webhook, with: {url: "http://127.0.0.1/r"}}
  - {id: check, branch: [{when: "true", goto: remind}]}
"""
    ) == {"nodes[0]": f"remind → check → remind {_WITHOUT_WAIT}"}


@pytest.mark.parametrize(
    ("nodes", "expected"),
    [
        # A branch whose `next` (no case holds) leads back to itself.
        ("  - {id: again, branch: [{when: 'false', goto: end}], next: again}\n",
         {"nodes[0]": f"again → again {_WITHOUT_WAIT}"}),
        # One path round has a wait, the other not: the other is refused.
        ("  - {id: remind, action: add_tag, with: {tag: t}}\n"
         "  - {id: check, branch: [{when: 'x > 1', goto: pause}, {else: true, goto: remind}]}\n"
         "  - {id: pause, wait: 1d, next: remind}\n",
         {"nodes[0]": f"remind → check → remind {_WITHOUT_WAIT}"}),
        # A split, and two loops at once: both are named.
        ("  - {id: ab, split: [{percent: 50, goto: a}, {percent: 50, goto: b}]}\n"
         "  - {id: a, action: add_tag, with: {tag: a}, next: ab}\n"
         "  - {id: pause, wait: 1h}\n"
         "  - {id: b, action: add_tag, with: {tag: b}}\n"
         "  - {id: c, branch: [{else: true, goto: b}]}\n",
         {"nodes[0]": f"ab → a → ab {_WITHOUT_WAIT}", "nodes[3]": f"b → c → b {_WITHOUT_WAIT}"}),
    ],
)  # fmt: skip
def test_every_loop_without_a_wait_is_refused_naming_its_nodes(
    nodes: str, expected: dict[str, str]
) -> None:
    assert _loops(nodes) == expected


@pytest.mark.parametrize(
    "pause",
    ["{id: pause, wait: 1d}", "{id: pause, wait_for_event: {event: Viewed, timeout: 1d}}"],
)
def test_a_loop_through_a_wait_is_a_valid_reminder_series(pause: str) -> None:
    load(
        _flow(
            f"""
  - {{id: remind, action: webhook, with: {{url: "http://127.0.0.1/r"}}}}
  - {pause}
  - {{id: check, branch: [{{when: "run.visits.remind < 3", goto: remind}}]}}
"""
        )
    )


def test_a_yaml_file_that_stands_for_billions_of_values_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 10)]
    with pytest.raises(InvalidFlow) as refused:
        load("\n".join(lines))
    [problem] = refused.value.problems
    assert problem["path"] == "(file)" and "more than 100,000 values" in problem["reason"]
