"""A flow version that no longer validates (stored by an older Nerve, edited by hand) must not
stop identity resolution or other flows: it is skipped, and its runs' due work goes to the
dead-letter queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select
from starlette.testclient import TestClient

from nerve.db.base import new_id
from nerve.db.engine import write_transaction
from nerve.flows.models import DeadLetter, Flow, FlowRun, FlowVersion, Task
from tests.factories import Shop, make_shop
from tests.waiting import auth, until

GOOD = {
    "name": "thank_you",
    "trigger": {"event": "Order Completed"},
    "nodes": [
        {"id": "pause", "wait": "1s"},
        {"id": "tag", "action": "add_tag", "with": {"tag": "buyer"}},
    ],
}


def _broken_version(engine: Engine, shop: Shop) -> str:
    flow_id, version_id = new_id("flw"), new_id("flv")
    with write_transaction(engine) as conn:
        conn.execute(insert(Flow).values(id=flow_id, workspace_id=shop.workspace_id, name="old"))
        conn.execute(
            insert(FlowVersion).values(
                id=version_id, workspace_id=shop.workspace_id, flow_id=flow_id, version=1,
                environment="production",
                definition={"name": "old", "trigger": {"event": "Order Completed"}, "nodes": 42},
            )
        )  # fmt: skip
    return version_id


def _run_with_due_timer(engine: Engine, shop: Shop, version_id: str) -> str:
    run_id = new_id("run")
    with write_transaction(engine) as conn:
        flow_id = conn.scalar(select(FlowVersion.flow_id).where(FlowVersion.id == version_id))
        conn.execute(
            insert(FlowRun).values(
                id=run_id, workspace_id=shop.workspace_id, flow_id=flow_id, version_id=version_id,
                environment="production", profile_id="prf_someone", trigger_key="",
                status="active", node="later", state_version=1, state={"trigger": {}},
            )
        )  # fmt: skip
        conn.execute(
            insert(Task).values(
                workspace_id=shop.workspace_id, run_id=run_id, kind="advance", node="later",
                expected_version=1, due_at=datetime.now(UTC) - timedelta(seconds=1),
                status="pending", idempotency_key="",
            )
        )  # fmt: skip
    return run_id


def test_a_broken_version_is_skipped_and_everything_else_goes_on(
    client: TestClient, engine: Engine
) -> None:
    shop = make_shop(engine, kinds=("web",))
    broken = _broken_version(engine, shop)
    stuck = _run_with_due_timer(engine, shop, broken)
    response = client.post(
        "/api/v1/flows", params={"environment": "production"}, json=GOOD, headers=auth(shop)
    )
    assert response.status_code == 201
    for user in ("amy", "bo"):
        message = {"userId": user, "event": "Order Completed", "properties": {"order_id": user}}
        assert (
            client.post("/v1/track", json=message, auth=(shop.write_keys["web"], "")).status_code
            == 200
        )

    def completed() -> list[Any]:
        runs = client.get("/api/v1/flows/thank_you/runs", headers=auth(shop)).json()["data"]
        return [r for r in runs if r["status"] == "completed"]

    assert len(until(lambda: len(completed()) == 2 and completed())) == 2
    for user in ("amy", "bo"):  # identity resolution went on
        found = client.get(
            "/api/v1/profiles", params={"identifier": f"user_id:{user}"}, headers=auth(shop)
        )
        assert found.status_code == 200

    def letters() -> list[Any]:
        with engine.connect() as conn:
            return list(conn.execute(select(DeadLetter).where(DeadLetter.run_id == stuck)))

    [letter] = until(letters)  # the stuck run's timer, at once: a retry would not help
    assert letter.error["permanent"] and "InvalidFlow" in letter.error["message"]
    metrics = client.get("/metrics").text
    assert 'nerve_flow_engine_errors_total{where="version"}' in metrics
