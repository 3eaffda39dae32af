"""Several resolvers at once (threads here, `nerve worker` processes in production) keep every
guarantee of one: each event attached once and routed into flows once, no identifier in two
profiles, the same people and traits as one resolver, and each person's events in order."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, func, select

from nerve.db.dialect import dialect_of
from nerve.db.engine import write_transaction
from nerve.events.models import Event
from nerve.flows import versions as flow_versions
from nerve.flows.definition import validate
from nerve.flows.models import FlowRun
from nerve.identity.attached import AttachedBatch, Consumer
from nerve.identity.resolver import PeopleKeptMoving, resolve_pending
from nerve.pipeline import CONSUMERS
from nerve.tracking.normalize import Envelope, normalize
from tests.factories import Shop, make_shop
from tests.integration.profiles.test_identity_properties import (
    _invariants,
    _message,
    _state,
    _traits_by_user,
)

RESOLVERS = 3
# Small batches, so the resolvers interleave on the same people.
BATCH = 3
EVERY_EVENT = validate(
    {
        "name": "every_event",
        "trigger": {"event": "Product Viewed", "reentry": "always"},
        "nodes": [{"id": "pause", "wait": "1d"}],
    }
)


@dataclass
class AttachOrder:
    """A pipeline consumer noting, inside each resolver's transaction, when it saw which event
    of which person (kept only for transactions that committed)."""

    seen: list[tuple[int, int, str]] = field(default_factory=list)  # (clock, event id, person)
    _local: threading.local = field(default_factory=threading.local)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def consume(self, conn: Connection, batch: AttachedBatch) -> None:
        now = time.monotonic_ns()
        self._local.pending += [(now, e.id, e.person_id) for e in batch.events]

    def resolve(self, engine: Engine) -> int:
        self._local.pending = []
        try:
            done = resolve_pending(engine, [*CONSUMERS, Consumer("order", self.consume)], BATCH)
        except PeopleKeptMoving:
            return BATCH
        with self._lock:
            self.seen += self._local.pending
        return len(done)


def _store(engine: Engine, shop: Shop, messages: list[dict[str, Any]]) -> None:
    envelope = Envelope(shop.workspace_id, shop.source_ids["web"], datetime.now(UTC))
    rows = [normalize(m, None, envelope, 32_000) for m in messages]
    with write_transaction(engine) as conn:
        conn.execute(
            dialect_of(conn).insert_ignoring_duplicates(
                Event.__table__, ["source_id", "message_id"]
            ),
            rows,
        )


def _resolve_concurrently(engine: Engine, order: AttachOrder) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            deadline = time.monotonic() + 60
            while order.resolve(engine) and time.monotonic() < deadline:
                pass
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(RESOLVERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    while order.resolve(engine):  # a resolver may have stopped while another still held work
        pass


def _shop_with_flow(engine: Engine, prefix: str) -> Shop:
    shop = make_shop(engine, workspace=f"{prefix}-{uuid.uuid4().hex[:8]}", kinds=("web",))
    with write_transaction(engine) as conn:
        flow_versions.publish(conn, shop.workspace_id, EVERY_EVENT, "production")
    return shop


def _runs(engine: Engine, workspace_id: str) -> int:
    with engine.connect() as conn:
        count = conn.scalar(
            select(func.count()).select_from(FlowRun).where(FlowRun.workspace_id == workspace_id)
        )
    return count or 0


PARALLEL_SETTINGS = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PARALLEL_SETTINGS
@given(messages=st.lists(_message(consistent=False), min_size=4, max_size=24))
def test_concurrent_resolvers_attach_and_route_every_event_once(
    engine: Engine, messages: list[dict[str, Any]]
) -> None:
    shop = _shop_with_flow(engine, "par")
    _store(engine, shop, messages)
    order = AttachOrder()
    _resolve_concurrently(engine, order)
    _invariants(engine, shop.workspace_id, len(messages))
    seen = [event for _, event, _ in order.seen]
    assert sorted(seen) == sorted(set(seen)), "an event went through the pipeline twice"
    assert len(seen) == len(messages)
    viewed = sum(1 for m in messages if m["type"] == "track")
    assert _runs(engine, shop.workspace_id) == viewed, "each event routed into flows once"


@PARALLEL_SETTINGS
@given(messages=st.lists(_message(consistent=True, alias=False), min_size=4, max_size=24))
def test_concurrent_resolvers_reach_what_one_resolver_reaches_in_order(
    engine: Engine, messages: list[dict[str, Any]]
) -> None:
    results = []
    for concurrent in (False, True):
        shop = _shop_with_flow(engine, "cmp")
        _store(engine, shop, [{**m, "messageId": str(uuid.uuid4())} for m in messages])
        order = AttachOrder()
        if concurrent:
            _resolve_concurrently(engine, order)
        else:
            while order.resolve(engine):
                pass
        identifiers, events = _state(engine, shop.workspace_id)
        people = sorted(
            sorted(i for i, person in identifiers.items() if person == p)
            for p in set(identifiers.values())
        )
        results.append((people, _traits_by_user(engine, shop.workspace_id), len(events)))
        # Each person's events reached the pipeline in the order they arrived.
        by_person: dict[str, list[int]] = {}
        for _, event, person in sorted(order.seen):
            by_person.setdefault(person, []).append(event)
        for person, attached in by_person.items():
            assert attached == sorted(attached), f"{person}'s events out of order: {attached}"
    assert results[0] == results[1]
