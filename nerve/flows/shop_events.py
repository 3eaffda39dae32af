"""Facts about the shop rather than a person (a price changed, stock ran low) that flows
trigger on: their capability records them here, in the transaction of the change (an outbox),
and the flow worker routes each to the flows it triggers, once.

The table belongs to flows, not to the capability that writes it: flows may not import another
capability's tables, and any capability (catalog today) can record through `record`.

A run started by a shop event belongs to the shop, not to a person: its `profile_id` is
`SHOP`, which no profile id can be (they are `prf_...`), so no person's event steers or ends it
and no person's data is read or written for it. Flows triggered by shop events are refused at
publish when they would need a person (`problems`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, Engine, column, insert, select, update
from sqlalchemy import table as sql_table

from nerve import metrics
from nerve.db.base import insert_rows, new_id, table
from nerve.db.dialect import Dialect, dialect_of
from nerve.db.engine import write_transaction
from nerve.flows.models import FlowEntry, FlowRun, ShopEvent

if TYPE_CHECKING:
    from nerve.flows.definition import FlowDefinition
    from nerve.flows.versions import ActiveVersion

SHOP = "shop"
# Trigger type -> the event names flows may trigger on (checked when a flow is published).
SHOP_EVENTS: dict[str, frozenset[str]] = {
    "catalog": frozenset(
        {
            "product_published",
            "price_changed",
            "stock_below_minimum",
            "out_of_stock",
            "back_in_stock",
            "collection_published",
            "product_incomplete",
        }
    ),
}
# Actions that act on the run's person: a shop's run has none.
PERSON_ACTIONS = frozenset({"send_email", "send_sms", "send_push", "update_profile", "add_tag"})
_ROUTE_BATCH = 256
# Properties bound as JSON text to an untyped table: a bulk import records thousands at once.
_INSERT = insert(sql_table("shop_events", *(column(c) for c in ("workspace_id", "kind", "name",
                                                                "properties"))))  # fmt: skip


def record(
    conn: Connection, workspace_id: str, kind: str, events: Sequence[tuple[str, dict[str, Any]]]
) -> None:
    """Store shop events `(name, properties)` of trigger type `kind` in the caller's
    transaction: they exist exactly when the change that caused them commits."""
    known = SHOP_EVENTS[kind]
    rows = []
    for name, properties in events:
        if name not in known:
            raise ValueError(f"{name!r} is not a {kind} event")
        rows.append({"workspace_id": workspace_id, "kind": kind, "name": name,
                     "properties": orjson.dumps(properties).decode()})  # fmt: skip
    if rows:
        conn.execute(_INSERT, rows)


def problems(flow: FlowDefinition) -> list[dict[str, str]]:
    """Why a flow triggered by shop events cannot be published: an unknown event name, or a
    node, exit or condition that needs a person (the run has none)."""
    kind = flow.trigger.type
    if kind not in SHOP_EVENTS:
        return []
    found = []
    if flow.trigger.event not in SHOP_EVENTS[kind]:
        known = ", ".join(sorted(SHOP_EVENTS[kind]))
        found.append({"path": "trigger.event",
                      "reason": f"not a {kind} event; known: {known}"})  # fmt: skip
    for index, node in enumerate(flow.nodes):
        if node.action in PERSON_ACTIONS:
            found.append({"path": f"nodes[{index}].action", "reason": f"{node.action} needs a "
                          f"person; a flow triggered by {kind} events has none"})  # fmt: skip
        if node.wait_for_event is not None or node.digest is not None:
            waits = "wait_for_event" if node.wait_for_event is not None else "digest"
            found.append({"path": f"nodes[{index}].{waits}", "reason": "waits for a person's "
                          f"events; a flow triggered by {kind} events has none"})  # fmt: skip
    if flow.exit:
        found.append({"path": "exit", "reason": "exits are a person's events; a flow "
                      f"triggered by {kind} events has no person"})  # fmt: skip
    if flow.uses_profile:
        found.append({"path": "trigger", "reason": "a condition reads `profile`; a flow "
                      f"triggered by {kind} events has no person"})  # fmt: skip
    return found


def payload(event: Any) -> dict[str, Any]:
    """A shop event as triggers and templates see it: `event`, `type` (the trigger type),
    `properties`, `messageId`, `timestamp`."""
    return {"type": event.kind, "event": event.name, "properties": event.properties,
            "messageId": f"shop_event_{event.id}",
            "timestamp": event.occurred_at.isoformat()}  # fmt: skip


def route_pending(engine: Engine, limit: int = _ROUTE_BATCH) -> int:
    """Route the oldest unrouted shop events (claimed: SKIP LOCKED on PostgreSQL, so workers
    share them) to the flows they trigger, and mark them routed, in one transaction: a run
    starts once per event per flow, also when a worker dies midway. Returns how many."""
    with write_transaction(engine) as conn:
        dialect = dialect_of(conn)
        events = table(ShopEvent).c
        query = select(table(ShopEvent)).where(events.routed_at.is_(None))
        claimed = list(conn.execute(dialect.skip_locked(query.order_by(events.id).limit(limit))))
        if not claimed:
            return 0
        now = dialect.now(conn)
        _Starter(conn, dialect, now).start_all(claimed)
        from nerve.flows.broadcasts import service as broadcasts

        broadcasts.on_shop_events(conn, now, claimed)  # flows for a segment's members
        conn.execute(
            update(table(ShopEvent))
            .where(events.id.in_([e.id for e in claimed]))
            .values(routed_at=now)
        )
        return len(claimed)


class _Starter:
    def __init__(self, conn: Connection, dialect: Dialect, now: datetime) -> None:
        self.conn, self.dialect, self.now = conn, dialect, now
        self._versions: dict[str, list[ActiveVersion]] = {}

    def versions(self, workspace_id: str, kind: str) -> list[ActiveVersion]:
        from nerve.flows.versions import active_versions

        if workspace_id not in self._versions:
            self._versions[workspace_id] = active_versions(self.conn, workspace_id)
        return [v for v in self._versions[workspace_id] if v.definition.trigger.type == kind]

    def start_all(self, claimed: list[Any]) -> None:
        from nerve.flows.interpreter import trigger_matches

        for event in claimed:
            message = payload(event)
            for version in self.versions(event.workspace_id, event.kind):
                if trigger_matches(version.definition, message, {}):
                    self.start(event, version, message)

    def start(self, event: Any, version: ActiveVersion, message: dict[str, Any]) -> None:
        from nerve.flows.engine import enqueue, plan, step_row
        from nerve.flows.interpreter import trigger_key

        flow = version.definition
        key = _entry_key(flow, message)
        run_id = new_id("run")
        if not self._enter(event.workspace_id, version, key, run_id, flow):
            return
        new = SimpleNamespace(
            id=run_id, workspace_id=event.workspace_id, flow_id=version.flow_id,
            version_id=version.version_id, environment=version.environment, profile_id=SHOP,
            trigger_key=trigger_key(flow, message)[:255], status="active",
            node=flow.nodes[0].id, state_version=0, waiting_for=None, outcome=None,
            started_at=self.now, ended_at=None,
            state={"trigger": message, "profile": {}, "data": {"shop_event_id": event.id}},
        )  # fmt: skip
        first = plan(flow, new, 0, flow.nodes[0].id, self.now, {})
        first.steps.insert(0, step_row(new, None, "entered",
                                       {"shop_event_id": event.id, "key": key}))  # fmt: skip
        insert_rows(self.conn, FlowRun, [vars(new) | first.values | {"state_version": 1}])
        enqueue(self.conn, [first])
        metrics.FLOW_RUNS.labels("started").inc()

    def _enter(
        self, workspace_id: str, version: ActiveVersion, key: str, run_id: str,
        flow: FlowDefinition,
    ) -> bool:  # fmt: skip
        """Record the shop's entry into the flow under `key`; False when the flow's reentry
        rule refuses it (entered before, or within its `every_days`)."""
        from nerve.flows.definition import Reentry

        entry = {"flow_id": version.flow_id, "environment": version.environment,
                 "profile_id": SHOP, "entry_key": key}  # fmt: skip
        statement = self.dialect.insert_ignoring_duplicates(
            FlowEntry.__table__, list(entry)
        ).returning(FlowEntry.run_id)
        values = entry | {"workspace_id": workspace_id, "run_id": run_id, "entered_at": self.now}
        if self.conn.execute(statement, values).first() is not None:
            return True
        reentry = flow.trigger.reentry
        if not isinstance(reentry, Reentry):
            return False
        cutoff = self.now - timedelta(days=reentry.every_days)
        taken_over = self.conn.execute(
            update(FlowEntry)
            .where(*(getattr(FlowEntry, k) == v for k, v in entry.items()),
                   FlowEntry.entered_at <= cutoff)
            .values(entered_at=self.now, run_id=run_id)
        ).rowcount  # fmt: skip
        return bool(taken_over == 1)


def _entry_key(flow: FlowDefinition, message: dict[str, Any]) -> str:
    from nerve.flows.interpreter import trigger_key

    policy = flow.trigger.reentry
    if policy == "always":
        return str(message["messageId"])
    if policy == "once_per_key":
        return trigger_key(flow, message)
    return ""
