"""A workspace's delivery policy: the fatigue cap, quiet hours and the best-send-time fallback,
one validated document stored in `delivery_policies` and changed through the API or the CLI.

Until a workspace saves one, no cap and no quiet hours apply (a flow node may still set its own
`frequency_cap`); the document with its defaults is what `GET /api/v1/delivery-policy` shows.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from time import monotonic
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Connection, bindparam, select, update

from nerve.audit import service as audit
from nerve.channels.models import DeliveryPolicy as PolicyRow
from nerve.db.base import utcnow
from nerve.db.dialect import dialect_of
from nerve.flows.durations import parse_duration

# The fatigue check reads a person's log this far back (beside the window): a window longer
# than this is a typo, and it bounds what every marketing send reads.
MAX_WINDOW = timedelta(days=90)
MAX_UNENGAGED = timedelta(days=365)
_TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")


def duration(text: str, longest: timedelta) -> timedelta:
    """A duration a marketer writes (7d, 12h, 2w); ValueError saying what is wrong."""
    value = parse_duration(text)
    if value < timedelta(minutes=1):
        raise ValueError("at least one minute (1m)")
    if value > longest:
        raise ValueError(f"at most {longest.days} days")
    return value


def _window(text: str) -> str:
    duration(text, MAX_WINDOW)
    return text


def _unengaged(text: str) -> str:
    duration(text, MAX_UNENGAGED)
    return text


def _time_of_day(text: str) -> str:
    if not _TIME_OF_DAY.match(text):
        raise ValueError("a time of day as HH:MM (24-hour clock), such as 21:00")
    return text


def zone_problem(name: str) -> str | None:
    """Why `name` is not an IANA time zone Nerve knows (None: it is)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return f"{name!r} is not an IANA time zone name, such as Europe/Berlin"
    return None


def _zone(name: str) -> str:
    problem = zone_problem(name)
    if problem is not None:
        raise ValueError(problem)
    return name


Window = Annotated[str, AfterValidator(_window)]
TimeOfDay = Annotated[str, AfterValidator(_time_of_day)]
Zone = Annotated[str, AfterValidator(_zone)]
OnCap = Literal["defer", "skip"]


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Tier(_Document):
    """People who opened and clicked nothing for `unengaged_for` get `limit` instead."""

    unengaged_for: Annotated[str, AfterValidator(_unengaged)] = Field(examples=["90d"])
    limit: int = Field(ge=0, le=1000, description="0: no marketing messages at all")


class Fatigue(_Document):
    limit: int = Field(default=3, ge=1, le=1000, description="Marketing messages per window")
    window: Window = Field(default="7d", description="A rolling window, such as 7d or 24h")
    tiers: list[Tier] = Field(default_factory=list, max_length=10)
    on_cap: OnCap = Field(
        default="defer",
        description="A message over the cap waits for a free slot (defer) or is not sent (skip); "
        "a flow node's over_cap overrides it",
    )

    @model_validator(mode="after")
    def _tiers_give_fewer(self) -> Fatigue:
        for index, tier in enumerate(self.tiers):
            if tier.limit > self.limit:
                raise ValueError(f"tiers[{index}].limit: a tier gives fewer than limit "
                                 f"({self.limit})")  # fmt: skip
        return self

    def window_length(self) -> timedelta:
        return duration(self.window, MAX_WINDOW)


class QuietHours(_Document):
    start: TimeOfDay = Field(default="21:00", description="When quiet hours begin, local time")
    end: TimeOfDay = Field(default="08:00", description="When they end: deferred sends go then")
    default_timezone: Zone = Field(
        default="UTC", description="For people whose time zone is not known"
    )

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.starts() == self.ends():
            raise ValueError("start and end are the same time")
        return self

    def starts(self) -> time:
        return time.fromisoformat(self.start)

    def ends(self) -> time:
        return time.fromisoformat(self.end)


class SendTime(_Document):
    fallback_hour: int = Field(
        default=10, ge=0, le=23, description="`send_at: best_time` for people with too few opens"
    )
    min_observations: int = Field(
        default=5, ge=1, le=1000, description="Opens and clicks needed to learn a person's hour"
    )


class DeliveryPolicy(_Document):
    """When a workspace's marketing messages may go: at most `fatigue.limit` per person per
    window across every flow and channel, not in their quiet hours, at their best hour when a
    node asks for it. Transactional messages are exempt."""

    fatigue: Fatigue | None = Field(default=None, description="None: no cap")
    quiet_hours: QuietHours | None = Field(default=None, description="None: none")
    send_time: SendTime = Field(default_factory=SendTime)

    def default_timezone(self) -> str:
        return self.quiet_hours.default_timezone if self.quiet_hours is not None else "UTC"


# Read for every marketing send, so kept for a few seconds: a saved change reaches this
# process at once and every other process within CACHE_SECONDS.
CACHE_SECONDS = 5.0
_cached: dict[str, tuple[float, DeliveryPolicy]] = {}
_STORED = select(PolicyRow.policy).where(PolicyRow.workspace_id == bindparam("workspace"))


def load(conn: Connection, workspace_id: str, *, fresh: bool = False) -> DeliveryPolicy:
    """The workspace's policy, or the defaults (no cap, no quiet hours); `fresh`: as stored
    now, not as read a few seconds ago."""
    hit = _cached.get(workspace_id)
    if hit is not None and not fresh and monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    stored = conn.scalar(_STORED, {"workspace": workspace_id})
    policy = DeliveryPolicy() if stored is None else DeliveryPolicy.model_validate(stored)
    _cached[workspace_id] = (monotonic(), policy)
    return policy


def save(conn: Connection, workspace_id: str, policy: DeliveryPolicy, actor: str) -> DeliveryPolicy:
    """Replace the workspace's policy; it applies to every send decided from then on."""
    values = {"policy": policy.model_dump(mode="json"), "updated_by": actor[:64],
              "updated_at": utcnow()}  # fmt: skip
    # Two first saves at once: the second inserts nothing and updates (no unique violation).
    first = dialect_of(conn).insert_ignoring_duplicates(PolicyRow.__table__, ["workspace_id"])
    conn.execute(first, [{"workspace_id": workspace_id, **values}])
    conn.execute(update(PolicyRow).where(PolicyRow.workspace_id == workspace_id).values(**values))
    audit.record(conn, workspace_id, actor, "delivery_policy.updated", workspace_id)
    _cached.pop(workspace_id, None)
    return policy
