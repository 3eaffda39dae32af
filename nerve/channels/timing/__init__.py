"""When a message may go: the workspace's fatigue cap and quiet hours, decided for one send in
the transaction that logs it (so two workers never both send the message that crosses the cap).

A send either goes now, is deferred to a time (quiet hours end, the cap's window frees a slot,
the person's best hour) or is skipped (over the cap, and the flow says skip) — and the message
log says which and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam, select

from nerve.channels.models import Message
from nerve.channels.timing import fatigue, quiet_hours, send_time
from nerve.channels.timing.options import NAMES, NodeTiming, problems
from nerve.channels.timing.policy import DeliveryPolicy, load
from nerve.identity import service as identity
from nerve.profiles.schemas import Person


class Deferred(Exception):
    """The send must wait until `until`; the caller puts its step back for then."""

    def __init__(self, until: datetime, reason: str) -> None:
        super().__init__(reason)
        self.until, self.reason = until, reason


@dataclass(frozen=True)
class Recipient:
    """What timing needs to know of the person a send goes to."""

    workspace_id: str
    profile_id: str | None
    timezone: str | None = None  # IANA name from the person's traits or devices


@dataclass(frozen=True)
class Decision:
    until: datetime | None = None  # deferred to
    skip: str | None = None  # skipped: why
    details: dict[str, Any] = field(default_factory=dict)  # what was counted, for the log

    @property
    def goes(self) -> bool:
        return self.until is None and self.skip is None


GO = Decision()


def timezone_of(person: Person | None) -> str | None:
    """The person's time zone (IANA name): a `timezone` trait the shop set, else the latest one
    a head reported (Segment's `context.timezone`), else None."""
    if person is None:
        return None
    zone = person.traits.get("timezone")
    if isinstance(zone, str) and zone:
        return zone
    return person.computed.timezone


# A flow node's options that timing reads, beside the channel's own (`with:` of any send).
OPTIONS = NAMES


def options_of(params: dict[str, Any]) -> dict[str, Any]:
    return {name: params[name] for name in OPTIONS if name in params}


def option_problems(params: dict[str, Any]) -> list[dict[str, str]]:
    """Problems with a node's timing options, paths under `with`."""
    return problems(params)


def admit(
    conn: Connection, recipient: Recipient, kind: str, channel: str, options: dict[str, Any],
    now: datetime, logged_id: str | None = None,
) -> Decision:  # fmt: skip
    """Whether a send may go now. `options`: the flow node's timing options (over_cap,
    quiet_hours, send_at, frequency_cap); `kind`: transactional sends are exempt from the cap
    and quiet hours; `logged_id`: the send's own message-log row, which the cap does not count.

    The cap first (over it: skipped, or deferred until a slot frees), then the person's best
    hour (`send_at: best_time`), then quiet hours: the send waits for the latest of them."""
    node = NodeTiming.of(options)
    marketing = kind == "marketing"
    if not marketing and not node.best_time:
        return GO
    policy = load(conn, recipient.workspace_id)
    zone, noted = quiet_hours.zone_of(recipient.timezone, policy.default_timezone())
    plan = _Plan(now, noted)
    cap = fatigue.cap_of(policy, node) if marketing and recipient.profile_id else None
    needed = cap is not None or node.best_time  # quiet hours alone need no one's log
    profile_ids = _profiles(conn, recipient, lock=cap is not None) if needed else []
    if cap is not None:
        verdict = fatigue.check(conn, recipient.workspace_id, profile_ids, cap, now, logged_id)
        if verdict is not None and verdict.skip is not None:
            return Decision(skip=verdict.skip, details={**noted, **verdict.details})
        if verdict is not None and verdict.until is not None:
            plan.wait(verdict.until, verdict.details["why"], verdict.details)
    if node.best_time:
        _best_time(conn, recipient.workspace_id, profile_ids, zone, policy, plan, logged_id)
    if marketing and node.quiet_hours and policy.quiet_hours is not None:
        quiet = policy.quiet_hours
        end = quiet_hours.end_of(plan.at, zone, quiet)
        if end is not None:
            hours = f"{quiet.start}-{quiet.end}"
            plan.wait(end, f"quiet hours {hours} {noted['zone']}", {"quiet_hours": hours})
    return plan.decision()


@dataclass
class _Plan:
    """When a send may go, as each rule moves it later, and why."""

    now: datetime
    details: dict[str, Any]
    why: list[str] = field(default_factory=list)
    at: datetime = field(init=False)

    def __post_init__(self) -> None:
        self.at = self.now

    def wait(self, until: datetime, why: str, details: dict[str, Any] | None = None) -> None:
        if until > self.at:
            self.at = until
            self.why.append(why)
            self.details |= details or {}

    def decision(self) -> Decision:
        if not self.why:
            return Decision(details=self.details)
        return Decision(until=self.at, details={**self.details, "why": "; ".join(self.why)})


def _profiles(conn: Connection, recipient: Recipient, *, lock: bool) -> list[str]:
    """Every profile of the recipient's person (merged ones too); with `lock`, the person's
    lock taken: the cap counts their messages under it."""
    if recipient.profile_id is None:
        return []
    found = identity.person_and_members(conn, recipient.profile_id)
    if found is None:  # erased meanwhile: what the log holds under this profile
        return [recipient.profile_id]
    person, members = found
    if lock:
        fatigue.people_lock(conn, recipient.workspace_id, person)
    return members


def _best_time(
    conn: Connection, workspace_id: str, profile_ids: list[str], zone: ZoneInfo,
    policy: DeliveryPolicy, plan: _Plan, logged_id: str | None,
) -> None:  # fmt: skip
    """Wait for the person's usual hour — unless the send already waited for it once."""
    earlier = _earlier_deferral(conn, logged_id)
    if "best_hour" in earlier:  # a worker came late to it: not deferred for it again
        plan.details |= {k: v for k, v in earlier.items() if k.startswith("best_hour")}
        return
    hour, learned = send_time.best_hour(conn, workspace_id, profile_ids, zone,
                                        policy.send_time, now=plan.now)  # fmt: skip
    plan.details |= learned
    plan.wait(send_time.next_at(plan.at, zone, hour),
              f"the person's best hour, {hour:02d}:00 {plan.details['zone']}")  # fmt: skip


_DEFERRAL = select(Message.status, Message.details).where(Message.id == bindparam("own"))


def _earlier_deferral(conn: Connection, logged_id: str | None) -> dict[str, Any]:
    """What the send's last deferral noted (empty if it was not deferred)."""
    if logged_id is None:
        return {}
    row = conn.execute(_DEFERRAL, {"own": logged_id}).first()
    return dict(row.details or {}) if row is not None and row.status == "deferred" else {}
