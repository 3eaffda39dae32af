"""A recurring broadcast: publishing schedules its next occurrence (once, however often it is
published), a new schedule replaces it, and each occurrence as it starts schedules the next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, update
from starlette.testclient import TestClient

from nerve.db.engine import write_transaction
from nerve.flows.broadcasts.models import Broadcast
from tests.factories import Shop
from tests.integration.broadcasts.steps import people, publish, runs, seed_segment, sleeper
from tests.waiting import auth, until


def _listed(client: TestClient, shop: Shop) -> list[dict[str, object]]:
    answer = client.get("/api/v1/flows/weekly/broadcasts", headers=auth(shop))
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]  # type: ignore[no-any-return]


def _next_at(hour: int, minute: int) -> datetime:
    now = datetime.now(UTC)
    first = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return first if first > now else first + timedelta(days=1)


def test_each_occurrence_once_and_the_next_scheduled_as_one_starts(
    client: TestClient, shop: Shop, engine: Engine
) -> None:
    seed_segment(engine, shop.workspace_id, "vip", people(5))
    weekly = sleeper("weekly", "vip", event="schedule", every="7d", at="09:00")
    for _ in range(2):  # the same schedule published twice: one occurrence
        client.post("/api/v1/flows", params={"environment": "production"}, json=weekly,
                    headers=auth(shop))  # fmt: skip
    [first] = _listed(client, shop)
    assert first["status"] == "scheduled"
    assert datetime.fromisoformat(str(first["due_at"])) == _next_at(9, 0)
    publish(client, shop, weekly | {"trigger": weekly["trigger"] | {"at": "10:30"}})
    statuses = {datetime.fromisoformat(str(b["due_at"])): b["status"] for b in
                _listed(client, shop)}  # fmt: skip
    assert statuses == {_next_at(9, 0): "cancelled", _next_at(10, 30): "scheduled"}
    with write_transaction(engine) as conn:  # the clock reaches the occurrence
        conn.execute(update(Broadcast).where(Broadcast.status == "scheduled")
                     .values(next_chunk_at=datetime.now(UTC) - timedelta(seconds=1)))  # fmt: skip
    until(lambda: runs(engine) == (5, 5))
    listed = _listed(client, shop)
    due = {datetime.fromisoformat(str(b["due_at"])): b["status"] for b in listed}
    assert due[_next_at(10, 30)] == "done"
    assert due[_next_at(10, 30) + timedelta(days=7)] == "scheduled"
    assert len(listed) == 3
