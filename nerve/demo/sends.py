"""Nerve's message log as the demo's screen reads it (the log `GET /api/v1/messages` shows): which
flow step sent a mail (or an SMS, a push), which reminders went out, which were skipped or held
back and why.

Read at most once a second, newest sends first, so a demo that runs for hours reads no more
than the last few hundred rows each time.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from nerve.channels import messages

log = structlog.get_logger(__name__)

_WINDOW = 200  # the newest sends read each time
_REMEMBERED = 1000  # sends kept by Message-ID, for the mails still on the mail pages
# A sent mail may be opened, clicked or complained about before the screen reads it again.
_DELIVERED = {"sent", "opened", "clicked", "complained"}
_ENGAGED = {"opened", "clicked"}  # Nerve counts a click as an open: the mail was read


@dataclass(frozen=True)
class Send:
    id: str
    message_id: str
    status: str  # queued, sent, skipped, failed, bounced; opened, clicked, complained
    kind: str  # marketing or transactional
    template: str | None
    flow: str | None
    node: str | None
    run_id: str | None
    recipient: str | None
    reason: str | None  # why it was skipped, deferred or failed
    channel: str = "email"  # email, sms, push, slack, webhook
    idempotency_key: str = ""
    subject: str | None = None  # a mail's subject, an SMS's start, a push's title
    details: dict[str, Any] | None = None  # the fatigue cap's decision, a provider's answer


class SendLog:
    """The sends since the demo started: `read` returns those new or changed since the last
    read; a flow's sent and skipped sends are counted."""

    def __init__(self, engine: Engine, workspace_id: str, flow: str) -> None:
        self._engine = engine
        self._workspace_id = workspace_id
        self._flow = flow
        self._status: dict[str, str] = {}
        self._by_message_id: OrderedDict[str, Send] = OrderedDict()
        self._by_key: OrderedDict[str, Send] = OrderedDict()
        self._listeners: list[Callable[[list[Send]], None]] = []
        self.reminded_runs: set[str] = set()  # runs of the flow that sent a mail
        self.sent = 0  # the flow's mails sent
        self.opened = 0  # of them, opened (a click counts as an open too)
        self.clicked = 0  # of them, clicked
        self.skipped: Counter[str] = Counter()  # the flow's sends skipped, by reason
        # Sends of earlier demo runs are not this run's.
        self._before = {send.id for send in self._newest()}

    def read(self) -> list[Send]:
        try:
            newest = self._newest()
        except SQLAlchemyError:  # the screen shows what it knows; the demo goes on
            log.warning("demo_message_log_unreadable", exc_info=True)
            return []
        changed = [
            send
            for send in reversed(newest)
            if send.id not in self._before and self._status.get(send.id) != send.status
        ]
        for send in changed:
            before = self._status.get(send.id)
            self._status[send.id] = send.status
            self._by_message_id[send.message_id] = send
            self._by_key[send.idempotency_key] = send
            if send.flow != self._flow:
                continue
            if send.status in _DELIVERED and before not in _DELIVERED:
                self.sent += 1
                if send.run_id:
                    self.reminded_runs.add(send.run_id)
            if send.status in _ENGAGED and before not in _ENGAGED:
                self.opened += 1
            if send.status == "clicked":
                self.clicked += 1
            elif send.status == "skipped":
                self.skipped[send.reason or "no reason given"] += 1
        for remembered in (self._by_message_id, self._by_key):
            while len(remembered) > _REMEMBERED:
                remembered.popitem(last=False)
        for listener in self._listeners:
            listener(changed)
        return changed

    def on_change(self, listener: Callable[[list[Send]], None]) -> None:
        """Call `listener` with the sends new or changed at each `read` (on the reader's
        thread), every channel's."""
        self._listeners.append(listener)

    def by_message_id(self, message_id: str | None) -> Send | None:
        return None if message_id is None else self._by_message_id.get(message_id.strip())

    def by_idempotency_key(self, key: str | None) -> Send | None:
        return None if key is None else self._by_key.get(key)

    def _newest(self) -> list[Send]:
        with self._engine.connect() as conn:
            rows = messages.listed(conn, self._workspace_id, limit=_WINDOW)
        return [_send(row) for row in rows]


def _send(row: dict[str, Any]) -> Send:
    return Send(
        id=row["id"],
        message_id=row["message_id"],
        status=row["status"],
        kind=row["kind"],
        template=row["template"],
        flow=row["flow"],
        node=row["node"],
        run_id=row["run_id"],
        recipient=row["recipient"],
        reason=row["reason"],
        channel=row["channel"],
        idempotency_key=row["idempotency_key"],
        subject=row["subject"],
        details=row["details"] if isinstance(row["details"], dict) else None,
    )
