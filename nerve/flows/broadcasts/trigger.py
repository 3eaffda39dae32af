"""The `audience` trigger: what a flow that starts for a segment's members may say, checked when
it is published, and when a recurring broadcast's occurrences fall.

    trigger: {type: audience, event: broadcast, segment: vip}              # started by hand
    trigger: {type: audience, event: schedule, segment: vip, every: 7d, at: "09:00"}
    trigger: {type: audience, event: price_changed, segment: coffee_buyers,
              where: "profile.computed.top_brand == trigger.properties.brand"}
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from nerve.flows import shop_events
from nerve.flows.durations import parse_duration

if TYPE_CHECKING:
    from nerve.flows.definition import FlowDefinition, Trigger

AUDIENCE = "audience"
BROADCAST, SCHEDULE = "broadcast", "schedule"
CATALOG = "catalog"
MIN_EVERY = timedelta(hours=1)


def catalog_events() -> frozenset[str]:
    return shop_events.SHOP_EVENTS[CATALOG]


def problems(flow: FlowDefinition) -> list[dict[str, str]]:
    """Why an audience trigger cannot be published, each with its path (the segment's key is
    checked against the workspace's segments by `unknown_segment`)."""
    trigger = flow.trigger
    if trigger.type != AUDIENCE:
        return [
            {
                "path": f"trigger.{name}",
                "reason": "only for `type: audience` with `event: schedule`",
            }
            for name in ("every", "at")
            if getattr(trigger, name) is not None
        ]
    found = []
    if trigger.segment is None:
        found.append(
            {
                "path": "trigger.segment",
                "reason": "an audience trigger names the "
                "segment whose members the flow starts for, e.g. segment: vip",
            }
        )
    known = (BROADCAST, SCHEDULE, *sorted(catalog_events()))
    if trigger.event not in known:
        found.append({"path": "trigger.event", "reason": f"must be one of: {', '.join(known)}"})
    found += _schedule_problems(trigger)
    if trigger.key is not None:
        found.append(
            {
                "path": "trigger.key",
                "reason": "a person enters each broadcast once: an audience trigger has no key",
            }
        )
    return found


def _schedule_problems(trigger: Trigger) -> list[dict[str, str]]:
    if trigger.event != SCHEDULE:
        return [
            {"path": f"trigger.{name}", "reason": "only with `event: schedule`"}
            for name in ("every", "at")
            if getattr(trigger, name) is not None
        ]
    found = []
    if trigger.every is None:
        found.append({"path": "trigger.every", "reason": "a schedule says how often: every: 1d"})
    elif parse_duration(trigger.every) < MIN_EVERY:
        found.append({"path": "trigger.every", "reason": "at most once an hour (every: 1h)"})
    if trigger.at is None:
        found.append({"path": "trigger.at", "reason": 'a schedule says when (UTC): at: "09:00"'})
    return found


def unknown_segment(
    conn: Connection, workspace_id: str, flow: FlowDefinition
) -> list[dict[str, str]]:
    """The audience trigger's segment, when the workspace has no such segment."""
    from nerve.segments import membership

    key = flow.trigger.segment
    if flow.trigger.type != AUDIENCE or key is None:
        return []
    if membership.segment_by_key(conn, workspace_id, key) is not None:
        return []
    return [{"path": "trigger.segment", "reason": f"no segment with the key {key!r}"}]


def next_occurrence(trigger: Trigger, previous: datetime | None, now: datetime) -> datetime:
    """The first occurrence of a schedule after `now`: `previous` + a whole number of `every`
    (occurrences missed while no worker ran are skipped, not caught up), or the next `at` after
    `now` for the first one."""
    assert trigger.every is not None and trigger.at is not None
    every = parse_duration(trigger.every)
    if previous is None:
        at = trigger.at
        first = now.astimezone(UTC).replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
        return first if first > now else first + timedelta(days=1)
    following = previous + every
    if following <= now:
        following += every * ((now - following) // every + 1)
    return following
