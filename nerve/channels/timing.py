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

from sqlalchemy import Connection

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
OPTIONS = ("over_cap", "quiet_hours", "send_at", "frequency_cap")


def options_of(params: dict[str, Any]) -> dict[str, Any]:
    return {name: params[name] for name in OPTIONS if name in params}


def option_problems(params: dict[str, Any]) -> list[dict[str, str]]:
    """Problems with a node's timing options, paths under `with`."""
    return []


def admit(
    conn: Connection, recipient: Recipient, kind: str, channel: str, options: dict[str, Any],
    now: datetime,
) -> Decision:  # fmt: skip
    """Whether a send may go now. `options`: the flow node's timing options (over_cap,
    quiet_hours, send_at, fatigue); `kind`: transactional sends are exempt from the cap."""
    return GO
