"""What a flow action is called with, and the two ways it can fail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class ActionFailed(Exception):
    """Worth retrying: the receiver was down, slow or overloaded."""


class ActionRejected(Exception):
    """Can never succeed as it is (bad parameters, a 4xx, a target the outbound policy
    refuses): goes to the dead-letter queue at once."""


class ActionDeferred(Exception):
    """Not now: the message would break the fatigue cap or land in the person's quiet hours.
    The step is tried again at `until` (a fresh attempt, not a retry: no backoff, no dead
    letter), and the reason is recorded on the run."""

    def __init__(self, until: datetime, reason: str) -> None:
        super().__init__(reason)
        self.until, self.reason = until, reason


@dataclass(frozen=True)
class ActionCall:
    workspace_id: str
    run_id: str
    flow: str
    node: str
    profile_id: str
    idempotency_key: str
    params: dict[str, Any]
    trigger: dict[str, Any]
    timeout: float
    environment: str
    # What of the person the action sends (identifiers, traits), read when the step was
    # prepared; None when the node sends nothing of them, or they were erased meanwhile.
    person: dict[str, Any] | None = None
    # The digest the run collected (`items`, `count`, `opened_at`, `closes_at`; digest.py),
    # for the message's template; None before or without one.
    digest: dict[str, Any] | None = None
    critical: bool = False  # the flow is marked critical: opt-outs do not hold it back


RemoteAction = Callable[[ActionCall], dict[str, Any]]
