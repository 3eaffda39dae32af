"""A flow node's timing options, beside its channel's own in `with:`:

    with: {template: cart_reminder_1, topic: newsletter,
           over_cap: skip,                              # or defer (the policy's on_cap)
           frequency_cap: {limit: 5, window: 7d},       # or false: this node is not capped
           quiet_hours: false,                          # this node may send in quiet hours
           send_at: best_time}                          # at the person's usual hour

Checked when a flow is published (`problems`, paths under `with`); read at each send (`NodeTiming`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from nerve.channels.timing.policy import MAX_WINDOW, duration

NAMES = ("over_cap", "quiet_hours", "send_at", "frequency_cap")
Problems = list[dict[str, str]]


@dataclass(frozen=True)
class NodeCap:
    limit: int
    window: str
    length: timedelta


@dataclass(frozen=True)
class NodeTiming:
    over_cap: str | None = None  # defer or skip; None: the policy's on_cap
    quiet_hours: bool = True
    best_time: bool = False
    # None: the workspace's cap; False: not capped; else the node's own cap.
    cap: NodeCap | bool | None = None

    @classmethod
    def of(cls, options: dict[str, Any]) -> NodeTiming:
        """The options as a send reads them. They were checked when the flow was published;
        one that is somehow invalid reads as unset, so the workspace's policy applies."""
        over = options.get("over_cap")
        return cls(
            over_cap=over if over in ("defer", "skip") else None,
            quiet_hours=options.get("quiet_hours") is not False,
            best_time=options.get("send_at") == "best_time",
            cap=_cap(options.get("frequency_cap")),
        )


def _cap(value: Any) -> NodeCap | bool | None:
    if value is False:
        return False
    if not isinstance(value, dict) or _cap_problems(value):
        return None
    return NodeCap(value["limit"], value["window"], duration(value["window"], MAX_WINDOW))


def problems(params: dict[str, Any]) -> Problems:
    """What is wrong with a node's timing options, each with its path under `with`."""
    found: Problems = []
    if "over_cap" in params and params["over_cap"] not in ("defer", "skip"):
        found.append({"path": "over_cap", "reason": "defer (wait for a free slot) or skip"})
    if "quiet_hours" in params and not isinstance(params["quiet_hours"], bool):
        reason = "true or false (false: this node sends in quiet hours too)"
        found.append({"path": "quiet_hours", "reason": reason})
    if "send_at" in params and params["send_at"] != "best_time":
        found.append({"path": "send_at", "reason": "best_time (the person's usual hour for "
                      "opening messages); leave it out to send at once"})  # fmt: skip
    if "frequency_cap" in params:
        found += _cap_problems(params["frequency_cap"])
    return found


def _cap_problems(value: Any) -> Problems:
    if value is False:
        return []
    if not isinstance(value, dict):
        reason = "false, or this node's own cap such as {limit: 5, window: 7d}"
        return [{"path": "frequency_cap", "reason": reason}]
    found: Problems = []
    unknown = sorted(set(value) - {"limit", "window"})
    if unknown:
        found.append({"path": f"frequency_cap.{unknown[0]}", "reason": "takes limit and window"})
    limit = value.get("limit")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= 1000:
        reason = "marketing messages per window: a whole number, 0 to 1000"
        found.append({"path": "frequency_cap.limit", "reason": reason})
    window = value.get("window")
    try:
        if not isinstance(window, str):
            raise ValueError("a duration such as 7d or 24h")
        duration(window, MAX_WINDOW)
    except ValueError as exc:
        found.append({"path": "frequency_cap.window", "reason": str(exc)})
    return found
