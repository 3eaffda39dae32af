"""A/B assignment: stable per visitor, close to the target split, the holdout apart."""

from __future__ import annotations

from collections import Counter

from nerve.personalization.assignment import assign, bucket
from nerve.personalization.definition import Experiment

SPLIT = Experiment.model_validate({
    "key": "banner_test", "holdout": 10,
    "arms": [{"key": "a", "variant": "running", "weight": 60},
             {"key": "b", "variant": "winter", "weight": 30}],
})  # fmt: skip


def _arm(visitor: str, experiment: Experiment = SPLIT) -> str:
    arm = assign("ws_1", experiment, visitor)
    return "holdout" if arm is None else arm.key


def test_ten_thousand_people_split_within_two_percent_of_the_weights() -> None:
    people = [f"prof_{i:05d}" for i in range(10_000)]
    counts = Counter(_arm(person) for person in people)
    assert abs(counts["a"] / 10_000 - 0.60) <= 0.02, counts
    assert abs(counts["b"] / 10_000 - 0.30) <= 0.02, counts
    assert abs(counts["holdout"] / 10_000 - 0.10) <= 0.02, counts


def test_a_person_keeps_their_arm() -> None:
    first = {person: _arm(person) for person in (f"p{i}" for i in range(500))}
    again = {person: _arm(person) for person in reversed(first)}
    assert first == again


def test_experiments_and_workspaces_shuffle_people_independently() -> None:
    people = [f"p{i}" for i in range(2000)]
    same_in_other_experiment = sum(
        bucket("ws_1", "banner_test", p) == bucket("ws_1", "other_test", p) for p in people
    )
    same_in_other_workspace = sum(
        bucket("ws_1", "banner_test", p) == bucket("ws_2", "banner_test", p) for p in people
    )
    assert same_in_other_experiment < 10 and same_in_other_workspace < 10


def test_a_test_without_holdout_assigns_everyone() -> None:
    even = Experiment.model_validate(
        {
            "key": "even",
            "arms": [
                {"key": "a", "variant": "x", "weight": 50},
                {"key": "b", "variant": "y", "weight": 50},
            ],
        }
    )
    assert {_arm(f"p{i}", even) for i in range(1000)} == {"a", "b"}
