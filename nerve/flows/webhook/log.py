"""Webhooks in the message log: each attempt of a webhook step leaves its row (channel
`webhook`, the endpoint's name or the URL's host, sent or failed or to be retried, the HTTP
status) — the same row on every attempt of the step, keyed by its idempotency key — so
`GET /api/v1/messages?channel=webhook` shows what went to the shop's systems beside what went
to people.

One write per attempt, after the request: a webhook is delivered at least once and its
receiver drops repeats by `webhook-id`, so there is nothing to decide before the request (no
consent, no cap) that would need the row first, as `Delivery` does for messages to people.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from nerve.channels import messages, templates
from nerve.db.base import new_id, utcnow
from nerve.db.engine import write_transaction
from nerve.flows.calls import ActionCall
from nerve.identity import service as identity
from nerve.profiles.view import person as person_view

CHANNEL = "webhook"


class WebhookLog:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def person(self, call: ActionCall) -> dict[str, Any]:
        """The person as templates see them (traits, computed attributes, identifiers, first
        email and phone), read now; empty when they were erased."""
        with self._engine.connect() as conn, conn.begin():
            found = identity.people_of(conn, {call.profile_id}).get(call.profile_id)
            person = None if found is None else person_view(conn, call.workspace_id, found)
        return {} if person is None else templates.person_context(person)

    def record(
        self, call: ActionCall, recipient: str | None, status: str, reason: str | None,
        details: dict[str, Any],
    ) -> None:  # fmt: skip
        """The attempt's outcome on the step's row: sent, failed (dead-lettered), or queued
        (to be retried; the reason says why)."""
        key, row_id = call.idempotency_key, new_id("msg")
        outcome = {"status": status, "reason": reason and reason[:1000], "details": details,
                   "sent_at": utcnow() if status == "sent" else None}  # fmt: skip
        with write_transaction(self._engine) as conn:
            logged = messages.begin(
                conn, call.workspace_id, key, row_id, profile_id=call.profile_id,
                channel=CHANNEL, kind="transactional", flow=call.flow, run_id=call.run_id,
                node=call.node, message_id=messages.channel_message_id(CHANNEL, key),
                recipient=recipient and recipient[:320], **outcome,
            )  # fmt: skip
            if logged.id != row_id:  # an earlier attempt's row: this attempt's outcome on it
                messages.finish(conn, logged.id, status, reason, details)
