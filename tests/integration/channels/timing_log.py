"""Test data for the delivery-policy tests: people (profiles, merged ones too) and their message
log at chosen times, and the policy saved as the API saves it."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert

from nerve.channels.models import Message
from nerve.channels.timing import Decision, Recipient, admit
from nerve.channels.timing.policy import DeliveryPolicy, save
from nerve.db.engine import write_transaction
from nerve.identity.models import Profile

_numbers = itertools.count()


def person(engine: Engine, workspace_id: str, *merged: str) -> str:
    """A person's root profile id, with `merged` profiles merged into it."""
    root = f"prf_t{next(_numbers)}"
    with write_transaction(engine) as conn:
        conn.execute(insert(Profile), [{"id": root, "workspace_id": workspace_id,
                                        "cluster_id": root}])  # fmt: skip
        for other in merged:
            conn.execute(insert(Profile), [{"id": other, "workspace_id": workspace_id,
                                            "cluster_id": root, "merged_into": root}])  # fmt: skip
    return root


def logged(
    engine: Engine, workspace_id: str, profile_id: str, at: datetime, *,
    status: str = "sent", kind: str = "marketing", channel: str = "email",
    sent_at: datetime | None = None, opened_at: datetime | None = None, flow: str = "welcome",
) -> str:  # fmt: skip
    """A message in the log, first logged at `at` (and sent then, unless it was not)."""
    number = next(_numbers)
    row_id = f"msg_t{number}"
    went = sent_at or (at if status in ("sent", "opened", "clicked", "complained") else None)
    row: dict[str, Any] = {
        "id": row_id, "workspace_id": workspace_id, "profile_id": profile_id,
        "channel": channel, "kind": kind, "flow": flow, "idempotency_key": f"k{number}",
        "message_id": f"<m{number}@test>", "status": status, "created_at": at,
        "updated_at": went or at, "sent_at": went, "opened_at": opened_at,
    }  # fmt: skip
    with write_transaction(engine) as conn:
        conn.execute(insert(Message), [row])
    return row_id


def set_policy(engine: Engine, workspace_id: str, document: dict[str, Any]) -> None:
    with write_transaction(engine) as conn:
        save(conn, workspace_id, DeliveryPolicy.model_validate(document), actor="test")


def decide(
    engine: Engine, workspace_id: str, profile_id: str | None, now: datetime, *,
    kind: str = "marketing", options: dict[str, Any] | None = None, zone: str | None = None,
    logged_id: str | None = None,
) -> Decision:  # fmt: skip
    """What timing decides for one send at `now` (in its own write transaction)."""
    recipient = Recipient(workspace_id, profile_id, zone)
    with write_transaction(engine) as conn:
        return admit(conn, recipient, kind, "email", options or {}, now, logged_id)
