"""A person's clock: the time zone their hours are reckoned in, and when the quiet hours a
moment falls in end there — by the zone's rules on that day, so a DST change moves the end in
UTC and not on the person's clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from nerve.channels.timing.policy import QuietHours, zone_problem


def zone_of(name: str | None, default: str) -> tuple[ZoneInfo, dict[str, Any]]:
    """The zone to reckon the person's hours in — theirs, else the policy's default — and,
    when theirs could not be used, a note for the message log."""
    if name:
        problem = zone_problem(name)
        if problem is None:
            return ZoneInfo(name), {"zone": name}
        return ZoneInfo(default), {"zone": default, "zone_note": f"{problem}: used {default}"}
    return ZoneInfo(default), {"zone": default, "zone_note": "time zone not known: the default"}


def end_of(at: datetime, zone: ZoneInfo, quiet: QuietHours) -> datetime | None:
    """When the quiet hours `at` falls in end (UTC); None when `at` is not in them."""
    start, end = quiet.starts(), quiet.ends()
    local = at.astimezone(zone)
    clock = local.time()
    # 21:00-08:00 wraps midnight; 12:00-14:00 does not. The end itself is no longer quiet.
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return at_local(day, end, zone, after=at)


def at_local(day: date, clock: time, zone: ZoneInfo, *, after: datetime) -> datetime:
    """The first moment after `after` that reads `clock` on `day` in `zone`, in UTC.

    A clock time that occurs twice (autumn) is its first occurrence unless that has passed; one
    the clocks skip (spring) is read with the offset before the change, i.e. an hour later."""
    for fold in (0, 1):
        moment = datetime.combine(day, clock, zone).replace(fold=fold).astimezone(UTC)
        if moment > after:
            return moment
    return after
