"""Cleaning up old runs, and the backlog gauges operators alert on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from starlette.testclient import TestClient

from nerve.db.engine import write_transaction
from nerve.flows import backlog
from nerve.flows.models import FlowEntry, FlowRun, FlowStep, Task
from nerve.flows.retention import Retention
from tests.factories import Shop, make_shop
from tests.waiting import auth, until

ORDER_FLOW = {
    "name": "thank_you",
    "trigger": {"event": "Order Completed", "key": "properties.order_id"},
    "nodes": [{"id": "tag", "action": "add_tag", "with": {"tag": "customer"}}],
}
SLOW_FLOW = {
    "name": "winback",
    "trigger": {"event": "Order Completed", "key": "properties.order_id"},
    "nodes": [
        {"id": "later", "wait": "30d"},
        {"id": "tag", "action": "add_tag", "with": {"tag": "x"}},
    ],
}


def _publish(client: TestClient, shop: Shop, flow: dict[str, Any]) -> None:
    response = client.post(
        "/api/v1/flows", params={"environment": "production"}, json=flow, headers=auth(shop)
    )
    assert response.status_code == 201, response.text


def _order(client: TestClient, shop: Shop, user: str, order: str) -> None:
    message = {"userId": user, "event": "Order Completed", "properties": {"order_id": order}}
    response = client.post("/v1/track", json=message, auth=(shop.write_keys["web"], ""))
    assert response.status_code == 200


def _runs(client: TestClient, shop: Shop, flow: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/flows/{flow}/runs", headers=auth(shop))
    return response.json()["data"]  # type: ignore[no-any-return]


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def test_a_duplicate_trigger_starts_nothing_after_its_old_run_was_pruned(
    client: TestClient, engine: Engine
) -> None:
    shop = make_shop(engine, kinds=("web",))
    _publish(client, shop, ORDER_FLOW)
    _order(client, shop, "anna", "o-1")
    until(lambda: [r for r in _runs(client, shop, "thank_you") if r["status"] == "completed"])

    pruned = Retention(runs=timedelta(0), tasks=timedelta(0)).prune(engine)

    assert (pruned.runs, _count(engine, FlowRun), _count(engine, FlowStep)) == (1, 0, 0)
    assert pruned.steps >= 3 and _count(engine, Task) == 0
    assert _count(engine, FlowEntry) == 1  # what keeps the order from starting a run again
    _order(client, shop, "anna", "o-1")  # the shop sends the same order webhook again
    _order(client, shop, "anna", "o-2")  # events are routed in order: o-2's run means o-1's
    [run] = until(lambda: _runs(client, shop, "thank_you"))  # was routed, and started nothing
    assert run["trigger_key"] == "o-2"


def test_pruning_keeps_live_and_failed_runs_and_recent_history(
    client: TestClient, engine: Engine
) -> None:
    shop = make_shop(engine, kinds=("web",))
    _publish(client, shop, ORDER_FLOW)
    _publish(client, shop, SLOW_FLOW)
    _order(client, shop, "ben", "o-1")
    until(lambda: len(_runs(client, shop, "thank_you")) == 1 and _runs(client, shop, "winback"))
    until(lambda: _runs(client, shop, "thank_you")[0]["status"] == "completed")
    [waiting] = _runs(client, shop, "winback")
    with write_transaction(
        engine
    ) as conn:  # a run that failed long ago stays until someone looks at it
        conn.execute(update(FlowRun).where(FlowRun.id == waiting["id"]).values(status="failed"))
    _order(client, shop, "ben", "o-2")
    until(lambda: len(_runs(client, shop, "winback")) == 2)
    until(lambda: all(r["status"] == "completed" for r in _runs(client, shop, "thank_you")))

    assert Retention().prune(engine).runs == 0  # nothing is 90 days old
    pruned = Retention(runs=timedelta(0), tasks=timedelta(days=1)).prune(engine)

    assert pruned.runs == 2  # the two completed thank-you runs
    left = {(r["status"], r["trigger_key"]) for r in _runs(client, shop, "winback")}
    assert left == {("failed", "o-1"), ("active", "o-2")}
    with engine.connect() as conn:
        pending = conn.scalars(select(Task.run_id).where(Task.status == "pending")).all()
    assert len(pending) == 2  # both winback timers kept


def test_metrics_show_dead_letters_and_due_tasks(client: TestClient, engine: Engine) -> None:
    shop = make_shop(engine, kinds=("web",))
    flow = {
        "name": "broken",
        "trigger": {"event": "Order Completed"},
        # Nothing listens on port 1: the only attempt fails, and the step is dead-lettered.
        "nodes": [
            {
                "id": "call",
                "action": "webhook",
                "with": {"url": "http://127.0.0.1:1/"},
                "retries": 0,
            }
        ],
    }
    _publish(client, shop, flow)

    def gauge(name: str) -> float:
        for line in client.get("/metrics").text.splitlines():
            if line.startswith(f"{name} "):
                return float(line.split()[1])
        raise AssertionError(f"{name} not exposed")

    assert gauge("nerve_flow_dead_letters_waiting") == 0
    families = [line.split()[2] for line in client.get("/metrics").text.splitlines()
                if line.startswith("# TYPE ")]  # fmt: skip
    assert len(families) == len(set(families))  # Prometheus rejects a family named twice
    _order(client, shop, "cleo", "o-1")
    until(lambda: gauge("nerve_flow_dead_letters_waiting") == 1)
    assert gauge("nerve_flow_tasks_due") == 0 and gauge("nerve_flow_oldest_due_seconds") == 0


def test_the_backlog_shows_how_far_workers_have_fallen_behind(engine: Engine) -> None:
    shop = make_shop(engine, kinds=("web",))
    now = datetime.now(UTC)
    task = {"workspace_id": shop.workspace_id, "run_id": "r", "kind": "advance", "node": "n",
            "expected_version": 1, "status": "pending", "idempotency_key": ""}  # fmt: skip
    with write_transaction(engine) as conn:  # no worker runs here: nobody claims these
        conn.execute(
            insert(Task),
            [task | {"due_at": now - timedelta(hours=1)},
             task | {"due_at": now - timedelta(minutes=1)},
             task | {"due_at": now + timedelta(hours=1)},
             task | {"due_at": now - timedelta(hours=2), "status": "done"}],
        )  # fmt: skip
    with engine.connect() as conn:
        readings = {name: value for name, (_, value) in backlog.gauges(conn).items()}
    assert readings["nerve_flow_tasks_due"] == 2
    assert 3590 < readings["nerve_flow_oldest_due_seconds"] < 3700
