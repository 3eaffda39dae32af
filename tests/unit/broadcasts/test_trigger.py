"""The audience trigger's schedule: each occurrence once, missed ones skipped, not caught up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nerve.errors import InvalidFlow
from nerve.flows.broadcasts.trigger import next_occurrence
from nerve.flows.definition import Trigger, validate

WEEKLY = Trigger.model_validate(
    {"type": "audience", "event": "schedule", "segment": "vip", "every": "7d", "at": "09:00"}
)


def test_the_first_occurrence_is_the_next_at_in_utc() -> None:
    before = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
    after = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
    assert next_occurrence(WEEKLY, None, before) == datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    assert next_occurrence(WEEKLY, None, after) == datetime(2027, 3, 2, 9, 0, tzinfo=UTC)


def test_occurrences_follow_every_and_missed_ones_are_skipped() -> None:
    last = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    assert next_occurrence(WEEKLY, last, last) == last + timedelta(days=7)
    down_for_three_weeks = last + timedelta(days=20)
    assert next_occurrence(WEEKLY, last, down_for_three_weeks) == last + timedelta(days=21)


@pytest.mark.parametrize(
    ("trigger", "paths"),
    [
        ({"type": "audience", "event": "broadcast"}, ["trigger.segment"]),
        ({"type": "audience", "event": "schedule", "segment": "s"}, ["trigger.at", "trigger.every"]),
        ({"type": "audience", "event": "broadcast", "segment": "s", "every": "1d"},
         ["trigger.every"]),
        ({"type": "audience", "event": "stock_low", "segment": "s"}, ["trigger.event"]),
        ({"type": "audience", "event": "broadcast", "segment": "s", "key": "properties.x"},
         ["trigger.key"]),
        ({"event": "Order Completed", "at": "09:00"}, ["trigger.at"]),
    ],
)  # fmt: skip
def test_what_an_audience_trigger_may_not_say_is_refused_with_its_path(
    trigger: dict[str, str], paths: list[str]
) -> None:
    with pytest.raises(InvalidFlow) as refused:
        validate({"name": "x", "trigger": trigger, "nodes": [{"id": "w", "wait": "1d"}]})
    assert sorted(p["path"] for p in refused.value.problems) == paths
