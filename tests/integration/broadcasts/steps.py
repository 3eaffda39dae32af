"""Steps the broadcast tests share: a segment with many members (seeded like a finished build,
so a fan-out test needs no thousands of tracked events), flows published through the API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select
from starlette.testclient import TestClient

from nerve.db.base import new_id
from nerve.db.engine import write_transaction
from nerve.flows.broadcasts.models import Broadcast
from nerve.flows.models import FlowRun
from nerve.segments.models import Segment, SegmentMember
from tests.factories import Shop
from tests.waiting import auth


def seed_segment(engine: Engine, workspace_id: str, key: str, members: list[str]) -> str:
    """A ready segment with these person ids as members."""
    now = datetime.now(UTC)
    segment_id = new_id("seg")
    with write_transaction(engine) as conn:
        conn.execute(insert(Segment).values(
            id=segment_id, workspace_id=workspace_id, key=key, name=key.replace("_", " "),
            description=None, public=False, active_version=1, status="ready", created_at=now,
            updated_at=now,
        ))  # fmt: skip
        for at in range(0, len(members), 5000):
            conn.execute(insert(SegmentMember), [
                {"workspace_id": workspace_id, "segment_id": segment_id, "person_id": person,
                 "entered_at": now} for person in members[at : at + 5000]
            ])  # fmt: skip
    return segment_id


def people(count: int) -> list[str]:
    return [f"prf_member{i:07d}" for i in range(count)]


def sleeper(name: str, segment: str, **trigger: Any) -> dict[str, Any]:
    """An audience flow whose runs start and wait a month: what a fan-out test counts."""
    return {
        "name": name,
        "trigger": {"type": "audience", "event": "broadcast", "segment": segment} | trigger,
        "nodes": [{"id": "later", "wait": "30d"}, {"id": "done", "action": "add_tag",
                                                   "with": {"tag": "x"}}],
    }  # fmt: skip


def publish(client: TestClient, shop: Shop, flow: dict[str, Any], status: int = 201) -> Any:
    answer = client.post("/api/v1/flows", params={"environment": "production"}, json=flow,
                         headers=auth(shop))  # fmt: skip
    assert answer.status_code == status, answer.text
    return answer.json()


def runs(engine: Engine) -> tuple[int, int]:
    """(runs, distinct people among them)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(func.count(), func.count(func.distinct(FlowRun.profile_id)))
        ).one()
    return int(row[0]), int(row[1])


def broadcast(client: TestClient, shop: Shop, broadcast_id: str) -> dict[str, Any]:
    answer = client.get(f"/api/v1/broadcasts/{broadcast_id}", headers=auth(shop))
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def broadcast_rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(Broadcast).order_by(Broadcast.created_at)).all())
