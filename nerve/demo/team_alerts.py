"""The demo shop's team channel in Slack: Nerve's Slack-shaped sink (nerve/channels/slack/sink.py)
on 127.0.0.1, which takes incoming-webhook posts as Slack does, and the alerts it took, kept for
the demo's screen and its page `/demo/slack`."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nerve.channels.slack.sink import Post, SlackSink

KEEP = 200  # alerts kept for the page
CHANNEL = "#team-alerts"


@dataclass(frozen=True)
class TeamAlert:
    number: int  # 1, 2, ... in order of arrival
    received_at: datetime
    text: str  # the notification text (and what clients without blocks show)
    blocks: list[dict[str, Any]]  # Block Kit, as Slack would render them


class TeamChannel:
    """Listens on a free loopback port from construction until `close`."""

    def __init__(self, keep: int = KEEP) -> None:
        self._lock = threading.Lock()
        self._alerts: deque[TeamAlert] = deque(maxlen=keep)
        self._count = 0
        # The sink would keep every post; the demo keeps its last few itself.
        self._sink = SlackSink(posts=_Forgotten(), on_post=self._took)

    def url(self) -> str:
        """An incoming-webhook URL for the channel, shaped like Slack's."""
        return self._sink.url("B0TEAMALERTS")

    def close(self) -> None:
        self._sink.close()

    @property
    def count(self) -> int:
        with self._lock:
            return self._count

    def alerts(self) -> list[TeamAlert]:
        """The alerts kept, newest first."""
        with self._lock:
            return list(reversed(self._alerts))

    def after(self, number: int) -> list[TeamAlert]:
        """The alerts kept that arrived after alert `number`, oldest first."""
        with self._lock:
            return [alert for alert in self._alerts if alert.number > number]

    def _took(self, post: Post) -> None:
        blocks = post.payload.get("blocks")
        with self._lock:
            self._count += 1
            self._alerts.append(
                TeamAlert(
                    number=self._count,
                    received_at=datetime.now(UTC),
                    text=str(post.payload.get("text") or ""),
                    blocks=[b for b in blocks if isinstance(b, dict)]
                    if isinstance(blocks, list) else [],
                )
            )  # fmt: skip


class _Forgotten(list[Post]):
    """A list that keeps nothing: the demo runs for hours."""

    def append(self, post: Post) -> None:
        pass
