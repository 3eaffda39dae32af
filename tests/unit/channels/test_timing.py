"""Quiet hours and the best hour on a person's clock (time zones, DST), the policy document and
a flow node's timing options, without a database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from nerve.channels.timing import option_problems, options_of
from nerve.channels.timing.options import NodeTiming
from nerve.channels.timing.policy import DeliveryPolicy, QuietHours
from nerve.channels.timing.quiet_hours import end_of, zone_of
from nerve.channels.timing.send_time import next_at

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NIGHT = QuietHours(start="21:00", end="08:00")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_a_send_at_night_waits_for_eight_in_the_persons_morning() -> None:
    # 23:30 in Berlin (CET, UTC+1) on 14 January: quiet until 08:00 Berlin = 07:00 UTC.
    assert end_of(utc(2026, 1, 14, 22, 30), BERLIN, NIGHT) == utc(2026, 1, 15, 7, 0)
    # 05:00 in Berlin: the same morning.
    assert end_of(utc(2026, 1, 15, 4, 0), BERLIN, NIGHT) == utc(2026, 1, 15, 7, 0)
    # The same instant is 17:30 in New York: not quiet there.
    assert end_of(utc(2026, 1, 14, 22, 30), NEW_YORK, NIGHT) is None
    # 08:00 itself and 20:59 are not quiet; 21:00 is.
    assert end_of(utc(2026, 1, 15, 7, 0), BERLIN, NIGHT) is None
    assert end_of(utc(2026, 1, 15, 19, 59), BERLIN, NIGHT) is None
    assert end_of(utc(2026, 1, 15, 20, 0), BERLIN, NIGHT) == utc(2026, 1, 16, 7, 0)


def test_quiet_hours_within_one_day() -> None:
    lunch = QuietHours(start="12:00", end="14:00")
    assert end_of(utc(2026, 1, 15, 11, 30), BERLIN, lunch) == utc(2026, 1, 15, 13, 0)
    assert end_of(utc(2026, 1, 15, 13, 0), BERLIN, lunch) is None
    assert end_of(utc(2026, 1, 15, 10, 59), BERLIN, lunch) is None


def test_the_morning_after_a_dst_change_is_eight_on_the_persons_clock() -> None:
    # Berlin springs forward on 29 March 2026: 08:00 that morning is CEST, 06:00 UTC.
    assert end_of(utc(2026, 3, 28, 22, 0), BERLIN, NIGHT) == utc(2026, 3, 29, 6, 0)
    # ... and falls back on 25 October: 08:00 is CET again, 07:00 UTC.
    assert end_of(utc(2026, 10, 24, 21, 0), BERLIN, NIGHT) == utc(2026, 10, 25, 7, 0)
    # New York springs forward on 8 March 2026: 08:00 EDT is 12:00 UTC.
    assert end_of(utc(2026, 3, 8, 4, 0), NEW_YORK, NIGHT) == utc(2026, 3, 8, 12, 0)


def test_an_end_the_clocks_skip_or_repeat() -> None:
    # Quiet until 02:30, which Berlin skips on 29 March: the send goes as the clocks jump
    # (read with the winter offset, 01:30 UTC = 03:30 CEST), never inside the quiet hours.
    early = QuietHours(start="23:00", end="02:30")
    assert end_of(utc(2026, 3, 28, 23, 0), BERLIN, early) == utc(2026, 3, 29, 1, 30)
    # 02:30 happens twice on 25 October: the first time, unless the send is already past it.
    assert end_of(utc(2026, 10, 24, 23, 0), BERLIN, early) == utc(2026, 10, 25, 0, 30)
    second_pass = utc(2026, 10, 25, 1, 10)  # 02:10 CET, after the clocks went back
    assert end_of(second_pass, BERLIN, early) == utc(2026, 10, 25, 1, 30)


def test_an_unknown_zone_falls_back_to_the_policys_and_says_so() -> None:
    zone, noted = zone_of("Mars/Olympus_Mons", "Europe/Berlin")
    assert zone == BERLIN and "Mars/Olympus_Mons" in noted["zone_note"]
    zone, noted = zone_of(None, "UTC")
    assert zone == ZoneInfo("UTC") and noted["zone"] == "UTC" and "zone_note" in noted
    zone, noted = zone_of("America/New_York", "Europe/Berlin")
    assert zone == NEW_YORK and noted == {"zone": "America/New_York"}
    assert zone_of("../../etc/passwd", "UTC")[1]["zone"] == "UTC"


def test_the_next_best_hour() -> None:
    # 15:20 Berlin, best hour 19: today at 19:00 CET = 18:00 UTC.
    assert next_at(utc(2026, 1, 15, 14, 20), BERLIN, 19) == utc(2026, 1, 15, 18, 0)
    # 19:40 Berlin: in the hour now, goes at once.
    assert next_at(utc(2026, 1, 15, 18, 40), BERLIN, 19) == utc(2026, 1, 15, 18, 40)
    # 20:05 Berlin: tomorrow.
    assert next_at(utc(2026, 1, 15, 19, 5), BERLIN, 19) == utc(2026, 1, 16, 18, 0)
    # Across the spring change: 19:00 CEST on 29 March is 17:00 UTC.
    assert next_at(utc(2026, 3, 28, 20, 0), BERLIN, 19) == utc(2026, 3, 29, 17, 0)


def test_the_policy_document_is_validated_with_paths() -> None:
    policy = DeliveryPolicy.model_validate(
        {"fatigue": {"limit": 3, "window": "7d", "tiers": [{"unengaged_for": "90d", "limit": 1}],
                     "on_cap": "skip"},
         "quiet_hours": {"start": "21:00", "end": "08:00", "default_timezone": "Europe/Berlin"},
         "send_time": {"fallback_hour": 10}}
    )  # fmt: skip
    assert policy.fatigue is not None and policy.fatigue.window_length().days == 7
    assert DeliveryPolicy().fatigue is None and DeliveryPolicy().send_time.fallback_hour == 10
    for bad, where in (
        ({"fatigue": {"window": "soon"}}, ("fatigue", "window")),
        ({"fatigue": {"window": "200d"}}, ("fatigue", "window")),
        ({"fatigue": {"limit": 0}}, ("fatigue", "limit")),
        ({"fatigue": {"on_cap": "drop"}}, ("fatigue", "on_cap")),
        ({"fatigue": {"limit": 2, "tiers": [{"unengaged_for": "30d", "limit": 3}]}}, ("fatigue",)),
        ({"quiet_hours": {"start": "9pm"}}, ("quiet_hours", "start")),
        ({"quiet_hours": {"start": "08:00", "end": "08:00"}}, ("quiet_hours",)),
        ({"quiet_hours": {"default_timezone": "Berlin"}}, ("quiet_hours", "default_timezone")),
        ({"send_time": {"fallback_hour": 24}}, ("send_time", "fallback_hour")),
        ({"frequency": {}}, ("frequency",)),
    ):
        with pytest.raises(ValidationError) as raised:
            DeliveryPolicy.model_validate(bad)
        assert raised.value.errors()[0]["loc"][: len(where)] == where, bad


@pytest.mark.parametrize(
    ("options", "path"),
    [
        ({"over_cap": "drop"}, "over_cap"),
        ({"quiet_hours": "no"}, "quiet_hours"),
        ({"send_at": "09:00"}, "send_at"),
        ({"frequency_cap": True}, "frequency_cap"),
        ({"frequency_cap": {"limit": "5", "window": "7d"}}, "frequency_cap.limit"),
        ({"frequency_cap": {"limit": 5}}, "frequency_cap.window"),
        ({"frequency_cap": {"limit": 5, "window": "7d", "per": "flow"}}, "frequency_cap.per"),
    ],
)
def test_a_nodes_bad_timing_option_is_named_by_its_path(options: dict[str, Any], path: str) -> None:
    [problem] = option_problems(options)
    assert problem["path"] == path and problem["reason"]


def test_a_nodes_timing_options_as_a_send_reads_them() -> None:
    params = {"template": "t", "topic": "news", "over_cap": "skip", "quiet_hours": False,
              "send_at": "best_time", "frequency_cap": {"limit": 5, "window": "2w"}}  # fmt: skip
    assert option_problems(params) == []
    node = NodeTiming.of(options_of(params))
    assert (node.over_cap, node.quiet_hours, node.best_time) == ("skip", False, True)
    assert not isinstance(node.cap, bool) and node.cap is not None
    assert (node.cap.limit, node.cap.length.days) == (5, 14)
    assert NodeTiming.of({"frequency_cap": False}).cap is False
    # Invalid after all (an old stored version): read as unset, the workspace's policy holds.
    assert NodeTiming.of({"frequency_cap": {"limit": -1}, "over_cap": 3}) == NodeTiming()
