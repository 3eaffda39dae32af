"""Best send time: the hour of the day a person usually reads their messages, learned from when
they opened (or clicked) earlier ones, reckoned on their clock — Braze's Intelligent Timing,
self-hosted. With fewer observations than the policy asks for, the policy's fallback hour."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam, func, or_, select

from nerve.channels.models import Message
from nerve.channels.timing.policy import SendTime
from nerve.channels.timing.quiet_hours import at_local
from nerve.db.base import UtcDateTime

# Habits change: only the last half year's opens, at most this many of them.
LOOK_BACK = timedelta(days=180)
OBSERVATIONS = 200


_READ_AT = func.coalesce(Message.opened_at, Message.clicked_at)
_READS = (
    select(_READ_AT)
    .where(
        Message.workspace_id == bindparam("workspace"),
        Message.profile_id.in_(bindparam("profiles", expanding=True)),
        Message.created_at >= bindparam("since", type_=UtcDateTime()),
        or_(Message.opened_at.is_not(None), Message.clicked_at.is_not(None)),
    )
    .order_by(Message.created_at.desc())
    .limit(OBSERVATIONS)
)


def usual_hour(conn: Connection, workspace_id: str, profile_ids: list[str], zone: ZoneInfo,
               now: datetime) -> tuple[int | None, int]:  # fmt: skip
    """The hour (0-23, on the person's clock) most of their messages were first read in, or
    None with no reads; and how many reads it is learned from."""
    if not profile_ids:
        return None, 0
    found = {"workspace": workspace_id, "profiles": profile_ids, "since": now - LOOK_BACK}
    times = conn.scalars(_READS, found).all()
    hours = Counter(moment.astimezone(zone).hour for moment in times)
    if not hours:
        return None, 0
    # The most frequent hour; of equally frequent ones, the earliest in the day.
    best = max(hours, key=lambda hour: (hours[hour], -hour))
    return best, len(times)


def best_hour(
    conn: Connection, workspace_id: str, profile_ids: list[str], zone: ZoneInfo,
    settings: SendTime, now: datetime,
) -> tuple[int, dict[str, Any]]:  # fmt: skip
    """The hour to send at and, for the message log, where it comes from."""
    hour, observed = usual_hour(conn, workspace_id, profile_ids, zone, now)
    if hour is None or observed < settings.min_observations:
        fallback = settings.fallback_hour
        return fallback, {"best_hour": fallback, "best_hour_from": f"fallback ({observed} reads)"}
    return hour, {"best_hour": hour, "best_hour_from": f"{observed} reads"}


def next_at(at: datetime, zone: ZoneInfo, hour: int) -> datetime:
    """`at` if it is in `hour` on the person's clock, else when that hour next begins."""
    local = at.astimezone(zone)
    if local.hour == hour:
        return at
    day = local.date() if local.hour < hour else local.date() + timedelta(days=1)
    return at_local(day, time(hour), zone, after=at)
