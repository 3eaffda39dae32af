"""The fatigue cap: at most N marketing messages per person in a rolling window, across every
flow and channel, counted in the message log.

Exact under concurrency: the count is taken under a lock on the person (a PostgreSQL advisory
lock, held until the transaction that logs the send commits; SQLite's single writer serialises
the same way), so of two workers sending to one person at once the second counts the first's
message, logged `queued` before it is handed to the provider.

A message counts from when it went out — `sent_at`, or while it is on its way, when it was let
through (`updated_at`) — not from when it was first logged: a message the cap itself deferred
for six days counts for a full window from the day it went.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from nerve.channels.models import Message
from nerve.channels.timing.options import NodeTiming
from nerve.channels.timing.policy import MAX_UNENGAGED, DeliveryPolicy, Tier, duration
from nerve.db.base import UtcDateTime
from nerve.db.locks import named_key, transaction_lock

# Statuses of messages that reached the person, or are on their way (queued): skipped, deferred
# and failed ones did not.
COUNTED = ("queued", "sent", "opened", "clicked", "complained", "bounced")
# A message the cap still holds this long after it was first logged is skipped instead: it is
# stale, and it bounds how far back the count must read (below).
HELD_AT_MOST = timedelta(days=30)
# Quiet hours and the best send time can hold a message a day or so beyond the cap.
_SLACK = timedelta(days=2)
# Opens and clicks of messages first logged this long before a tier's span still tell.
_READ_LATE = timedelta(days=30)


@dataclass(frozen=True)
class Cap:
    limit: int
    window: str
    length: timedelta
    on_cap: str = "defer"
    tiers: tuple[Tier, ...] = ()  # the workspace's engagement tiers
    tier: str | None = None  # why this person gets fewer (the tier they are in)


@dataclass(frozen=True)
class Verdict:
    """Over the cap: wait until `until`, or `skip` with its reason; `details` for the log."""

    details: dict[str, Any]
    until: datetime | None = None
    skip: str | None = None


def people_lock(conn: Connection, workspace_id: str, person_id: str) -> None:
    """Serialise the fatigue decisions for one person until this transaction ends. PostgreSQL
    runs READ COMMITTED: the count, a statement after the lock, sees every send committed
    before it was granted."""
    transaction_lock(conn, named_key(workspace_id, "fatigue", person_id))


def cap_of(policy: DeliveryPolicy, node: NodeTiming) -> Cap | None:
    """The cap that applies to a node's sends: its own, or the workspace's; None when none."""
    if isinstance(node.cap, bool):  # frequency_cap: false
        return None
    fatigue = policy.fatigue
    on_cap = node.over_cap or (fatigue.on_cap if fatigue is not None else "defer")
    if node.cap is not None:
        return Cap(node.cap.limit, node.cap.window, node.cap.length, on_cap)
    if fatigue is None:
        return None
    return Cap(fatigue.limit, fatigue.window, fatigue.window_length(), on_cap,
               tuple(fatigue.tiers))  # fmt: skip


def for_person(conn: Connection, workspace_id: str, profile_ids: list[str], cap: Cap,
               now: datetime) -> Cap:  # fmt: skip
    """The cap with the person's engagement tier applied: the smallest limit of the tiers
    they are in."""
    if not cap.tiers:
        return cap
    quiet_for = unengaged_for(conn, workspace_id, profile_ids, now)
    for tier in sorted(cap.tiers, key=lambda t: t.limit):
        if quiet_for is not None and quiet_for >= duration(tier.unengaged_for, MAX_UNENGAGED):
            return replace(cap, limit=tier.limit,
                           tier=f"no opens or clicks for {tier.unengaged_for}")  # fmt: skip
    return cap


# Built once: the send path builds no statements (building one costs more than running it).
_READS = select(func.min(Message.created_at), func.max(Message.opened_at),
                func.max(Message.clicked_at)).where(
    Message.workspace_id == bindparam("workspace"),
    Message.profile_id.in_(bindparam("profiles", expanding=True)),
    Message.created_at >= bindparam("since", type_=UtcDateTime()),
)  # fmt: skip


def unengaged_for(
    conn: Connection, workspace_id: str, profile_ids: list[str], now: datetime
) -> timedelta | None:
    """How long the person has gone without opening or clicking anything since messages began
    to reach them, as far as the log's last year tells; None when nothing reached them then."""
    since = now - MAX_UNENGAGED - _READ_LATE
    first, opened, clicked = conn.execute(
        _READS, {"workspace": workspace_id, "profiles": profile_ids, "since": since}
    ).one()
    if first is None:
        return None
    last = max((t for t in (opened, clicked) if t is not None), default=first)
    return now - last


def check(conn: Connection, workspace_id: str, profile_ids: list[str], cap: Cap, now: datetime,
          logged_id: str | None) -> Verdict | None:  # fmt: skip
    """None when the send fits under the cap; else when it may go, or why it is skipped."""
    cap = for_person(conn, workspace_id, profile_ids, cap, now)
    times = counted(conn, workspace_id, profile_ids, cap.length, now, logged_id)
    if len(times) < cap.limit:
        return None
    details: dict[str, Any] = {"counted": len(times), "limit": cap.limit, "window": cap.window}
    if cap.tier is not None:
        details["tier"] = cap.tier
    why = (
        f"over the fatigue cap: {len(times)} marketing messages in {cap.window} (limit {cap.limit}"
    )
    why += f", {cap.tier})" if cap.tier else ")"
    if cap.limit == 0:  # no slot ever frees: waiting would be forever
        return Verdict({**details, "why": why}, skip=why)
    if cap.on_cap == "skip":
        return Verdict({**details, "why": why}, skip=why)
    first_logged = _first_logged(conn, logged_id)
    if first_logged is not None and now - first_logged >= HELD_AT_MOST:
        stale = f"{why}; held since {first_logged.isoformat()}, 30 days: not sent"
        return Verdict({**details, "why": stale}, skip=stale)
    # The slot frees when enough of the counted messages have left the window.
    until = times[len(times) - cap.limit] + cap.length
    return Verdict({**details, "why": why}, until=until)


_WENT = func.coalesce(Message.sent_at, Message.updated_at)
_SINCE = bindparam("since", type_=UtcDateTime())
_COUNTED = select(_WENT).where(
    Message.workspace_id == bindparam("workspace"),
    Message.profile_id.in_(bindparam("profiles", expanding=True)),
    # The index range (ix_messages_person_recent): a counted message was first logged at most
    # HELD_AT_MOST (and a day or two of quiet hours) before it went out.
    Message.created_at >= bindparam("scan_from", type_=UtcDateTime()),
    Message.kind == "marketing",
    Message.status.in_(COUNTED),
    _WENT > _SINCE,
    Message.id != bindparam("own"),
)
_CREATED = select(Message.created_at).where(Message.id == bindparam("own"))


def counted(conn: Connection, workspace_id: str, profile_ids: list[str], length: timedelta,
            now: datetime, logged_id: str | None) -> list[datetime]:  # fmt: skip
    """When each marketing message the person got in the window went out, oldest first; the
    send being decided (`logged_id`) not among them."""
    found = conn.scalars(_COUNTED, {
        "workspace": workspace_id, "profiles": profile_ids, "since": now - length,
        "scan_from": now - length - HELD_AT_MOST - _SLACK, "own": logged_id or "",
    })  # fmt: skip
    return sorted(found)


def _first_logged(conn: Connection, logged_id: str | None) -> datetime | None:
    if logged_id is None:
        return None
    return conn.scalar(_CREATED, {"own": logged_id})
