"""Step budgets: how many steps one run may take within an hour and in all.

A flow that loops back through a wait is valid (a reminder every day until the order comes),
but a run that keeps looping fast — a wait of a second, a flood of events — must end in the
dead-letter queue rather than send on forever. A step is a node the run reaches; what a run
has spent lives in its persisted state (`state["budget"]`), so every worker sees the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

_HOUR = timedelta(hours=1)


def spend(used: Any, steps: int, now: datetime) -> dict[str, Any]:
    """What a run has spent after taking `steps` more at `now`: in all, and in the hour that
    began with the first step counted in it."""
    used = used if isinstance(used, dict) else {}
    since = used.get("hour_since")
    in_hour = int(used.get("in_hour", 0))
    if since is None or now - datetime.fromisoformat(since) >= _HOUR:
        since, in_hour = now.isoformat(), 0
    return {
        "total": int(used.get("total", 0)) + steps,
        "in_hour": in_hour + steps,
        "hour_since": since,
    }


@dataclass(frozen=True)
class StepBudget:
    """The limits (NERVE_FLOW_RUN_STEPS_PER_HOUR, NERVE_FLOW_RUN_STEPS_TOTAL)."""

    per_hour: int = 200
    total: int = 5_000

    def exceeded(self, used: Any) -> str | None:
        """Why a run that has spent `used` may go no further, or None."""
        if not isinstance(used, dict):
            return None
        if used.get("total", 0) > self.total:
            return (
                f"step budget exceeded: the run reached {used['total']} nodes, more than its "
                f"{self.total} in all (NERVE_FLOW_RUN_STEPS_TOTAL); does the flow loop without "
                "end? Replaying gives the run a fresh budget"
            )
        if used.get("in_hour", 0) > self.per_hour:
            return (
                f"step budget exceeded: the run reached {used['in_hour']} nodes within an hour, "
                f"more than its {self.per_hour} (NERVE_FLOW_RUN_STEPS_PER_HOUR); does the flow "
                "loop back after too short a wait? Replaying gives the run a fresh budget"
            )
        return None
