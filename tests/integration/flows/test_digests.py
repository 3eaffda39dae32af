"""Digests in the durable engine: one send per window however often the owner's timer runs,
one digest when two runs open it at once, a new one when its run left the flow, and staging
apart from production. Time is moved by making the window's timer due."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select, update

from nerve.db.dialect import dialect_of
from nerve.db.engine import write_transaction
from nerve.flows import routing
from nerve.flows import versions as flow_versions
from nerve.flows.actions import RecordingSender
from nerve.flows.definition import validate
from nerve.flows.digest_models import Digest, DigestItem
from nerve.flows.executor import Executor
from nerve.flows.models import FlowRun, FlowStep, Task
from nerve.flows.retention import Retention
from tests.factories import attached, make_shop

FLOW = {
    "name": "back_in_stock",
    "trigger": {"event": "Back In Stock", "reentry": "always"},
    "exit": [{"event": "Unsubscribed"}],
    "nodes": [
        {"id": "collect", "digest": {"window": "1h", "key": "properties.sku"}},
        {"id": "tell", "action": "webhook", "with": {"url": "https://shop.example/digest"}},
    ],
}
_ids = iter(range(1, 1_000_000))


def _event(name: str, sku: str = "", message_id: str | None = None) -> dict[str, Any]:
    return {"event": name, "type": "track", "messageId": message_id or str(uuid.uuid4()),
            "properties": {"sku": sku, "name": f"Shoe {sku}"}}  # fmt: skip


def _deliver(engine: Engine, workspace_id: str, person: str, *events: dict[str, Any]) -> None:
    with write_transaction(engine) as conn:
        batch = [(next(_ids), event, person) for event in events]
        routing.route_events(conn, attached(conn, workspace_id, batch))


def _deliver_each(engine: Engine, workspace_id: str, people: list[str]) -> None:
    """One event for each of `people` in one batch, the n-th with sku `n`."""
    with write_transaction(engine) as conn:
        batch = [(next(_ids), _event("Back In Stock", str(n)), p) for n, p in enumerate(people)]
        routing.route_events(conn, attached(conn, workspace_id, batch))


def _work(executor: Executor) -> None:
    """Run every due task, and what they make due, until nothing is due."""
    while claimed := executor.claim(100):
        for task_id in claimed:
            executor.execute(task_id)


def _close_windows(engine: Engine) -> None:
    """The clock reaches the end of every open window."""
    with write_transaction(engine) as conn:
        conn.execute(
            update(Task)
            .where(Task.kind == "digest", Task.status == "pending")
            .values(due_at=dialect_of(conn).now(conn))
        )


def _setup(engine: Engine, *environments: str) -> tuple[str, Executor, RecordingSender]:
    shop = make_shop(engine, kinds=("web",))
    with write_transaction(engine) as conn:
        for environment in environments or ("production",):
            flow_versions.publish(conn, shop.workspace_id, validate(FLOW), environment)
    sent = RecordingSender()
    return shop.workspace_id, Executor(engine, "worker-a", remote={"webhook": sent}), sent


def _digests(engine: Engine, person: str) -> list[tuple[str, str, list[str]]]:
    """(status, environment, item keys in order) of the person's digests, oldest first."""
    with engine.connect() as conn:
        digests = conn.execute(
            select(Digest).where(Digest.profile_id == person).order_by(Digest.opened_at, Digest.id)
        ).all()
        return [
            (d.status, d.environment, list(conn.scalars(
                select(DigestItem.item_key).where(DigestItem.digest_id == d.id)
                .order_by(DigestItem.event_id)
            )))
            for d in digests
        ]  # fmt: skip


def test_the_owner_timer_running_twice_sends_once(engine: Engine) -> None:
    workspace_id, executor, sent = _setup(engine)
    _deliver(engine, workspace_id, "prf_anna", *(_event("Back In Stock", s) for s in "ABA"))
    _work(executor)
    assert _digests(engine, "prf_anna") == [("open", "production", ["A", "B"])]
    _close_windows(engine)
    [close] = executor.claim(100)
    # A second worker takes the timer over (the first one's lease ran out), then the first
    # one, still alive, runs it as well.
    late = Executor(engine, "worker-b")
    with write_transaction(engine) as conn:
        conn.execute(update(Task).where(Task.id == close).values(owner="worker-b"))
    late.execute(close)
    executor.execute(close)
    # And the timer is delivered once more after the window closed (a crash before the
    # claim's record): the run has moved on, the task is stale.
    with write_transaction(engine) as conn:
        conn.execute(update(Task).where(Task.id == close).values(status="running"))
    late.execute(close)
    _work(executor)
    [call] = sent.sent
    assert call.digest is not None and call.digest["count"] == 2
    assert [item["sku"] for item in call.digest["items"]] == ["A", "B"]
    assert _digests(engine, "prf_anna") == [("closed", "production", ["A", "B"])]
    with engine.connect() as conn:
        statuses = sorted(conn.scalars(select(FlowRun.status)))
        closes = conn.scalars(select(FlowStep.kind).where(FlowStep.kind == "digest_closed"))
        assert statuses == ["completed"] * 3 and len(list(closes)) == 1


def _collect(barrier: threading.Barrier, executor: Executor, task_id: int) -> None:
    barrier.wait()
    executor.execute(task_id)


def test_two_runs_opening_a_digest_at_once_make_one(engine: Engine) -> None:
    workspace_id, first, _ = _setup(engine)
    second = Executor(engine, "worker-b")
    for n in range(20):
        person = f"prf_race_{n}"
        _deliver(engine, workspace_id, person, _event("Back In Stock", "A"),
                 _event("Back In Stock", "B"))  # fmt: skip
        tasks = [first.claim(1), second.claim(1)]
        assert all(len(claimed) == 1 for claimed in tasks)
        barrier = threading.Barrier(2)

        threads = [
            threading.Thread(target=_collect, args=(barrier, executor, claimed[0]))
            for executor, claimed in zip((first, second), tasks, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        [(status, _, keys)] = _digests(engine, person)
        assert status == "open" and sorted(keys) == ["A", "B"]
        with engine.connect() as conn:
            runs = conn.execute(
                select(FlowRun.id, FlowRun.status).where(FlowRun.profile_id == person)
            ).all()
            owner = conn.scalar(select(Digest.run_id).where(Digest.profile_id == person))
        assert sorted(r.status for r in runs) == ["active", "completed"]
        assert [r.id for r in runs if r.status == "active"] == [owner]


def test_a_digest_whose_run_left_the_flow_is_not_sent(engine: Engine) -> None:
    workspace_id, executor, sent = _setup(engine)
    _deliver(engine, workspace_id, "prf_ben", _event("Back In Stock", "A"))
    _work(executor)
    _deliver(engine, workspace_id, "prf_ben", _event("Unsubscribed"))  # the owner exits
    _deliver(engine, workspace_id, "prf_ben", _event("Back In Stock", "B"))
    _work(executor)
    assert _digests(engine, "prf_ben") == [
        ("abandoned", "production", ["A"]),
        ("open", "production", ["B"]),
    ]
    _close_windows(engine)
    _work(executor)
    [call] = sent.sent
    assert call.digest is not None and [i["sku"] for i in call.digest["items"]] == ["B"]


def test_digests_that_ended_are_pruned_with_ended_runs(engine: Engine) -> None:
    workspace_id, executor, _ = _setup(engine)
    _deliver(engine, workspace_id, "prf_dan", _event("Back In Stock", "A"))
    _work(executor)
    _close_windows(engine)
    _work(executor)
    _deliver(engine, workspace_id, "prf_dan", _event("Back In Stock", "B"))  # the next window
    _work(executor)
    assert Retention().prune(engine).digests == 0  # nothing is 90 days old
    assert Retention(runs=timedelta(0)).prune(engine).digests == 1
    assert _digests(engine, "prf_dan") == [("open", "production", ["B"])]
    with engine.connect() as conn:
        assert len(list(conn.scalars(select(DigestItem.item_key)))) == 1


def test_staging_collects_apart_from_production(engine: Engine) -> None:
    workspace_id, executor, sent = _setup(engine, "staging", "production")
    _deliver(engine, workspace_id, "prf_cleo", _event("Back In Stock", "A"))
    _deliver(engine, workspace_id, "prf_cleo", _event("Back In Stock", "B"))
    _work(executor)
    assert sorted(_digests(engine, "prf_cleo")) == [
        ("open", "production", ["A", "B"]),
        ("open", "staging", ["A", "B"]),
    ]
    _close_windows(engine)
    _work(executor)
    assert [call.environment for call in sent.sent] == ["production"]
    assert [call.environment for call in executor.staging.sent] == ["staging"]


def test_two_workers_adding_to_the_same_digests_in_crossed_order_do_not_deadlock(
    engine: Engine,
) -> None:
    workspace_id, first, _ = _setup(engine)
    second = Executor(engine, "worker-b")
    people = ["prf_x", "prf_y", "prf_y", "prf_x"]  # the collect tasks' ids come in this order
    _deliver_each(engine, workspace_id, people)
    with write_transaction(engine) as conn:
        tasks = list(conn.scalars(select(Task.id).where(Task.kind == "collect").order_by(Task.id)))
        # In task id order, the first worker adds to X's digest, then Y's; the second to Y's,
        # then X's.
        for owner, ids in (("worker-a", tasks[:2]), ("worker-b", tasks[2:])):
            conn.execute(update(Task).where(Task.id.in_(ids)).values(status="running", owner=owner))
    barrier = threading.Barrier(2)
    failures: list[Exception] = []

    def advance(executor: Executor, ids: list[int]) -> None:
        barrier.wait()
        try:
            executor.advance_many(ids)
        except Exception as exc:  # a deadlock aborts a worker's transaction
            failures.append(exc)

    threads = [threading.Thread(target=advance, args=(first, tasks[:2])),
               threading.Thread(target=advance, args=(second, tasks[2:]))]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert [(s, sorted(keys)) for s, _, keys in _digests(engine, "prf_x")] == [("open", ["0", "3"])]
    assert [(s, sorted(keys)) for s, _, keys in _digests(engine, "prf_y")] == [("open", ["1", "2"])]
