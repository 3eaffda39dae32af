"""A new segment over existing people builds in the background in chunks, with progress, and
a build stopped midway resumes at its cursor."""

from __future__ import annotations

from sqlalchemy import Engine, select

from nerve.db.base import utcnow
from nerve.db.engine import write_transaction
from nerve.events import internal
from nerve.segments import membership, service
from nerve.segments.models import SegmentBuild, SegmentChange
from nerve.segments.worker import build_next_chunk
from tests.factories import make_shop
from tests.integration.carts.conftest import settle

GOLD = {"key": "gold", "name": "Gold", "where": {"trait": "plan", "equals": "gold"}}


def test_a_build_fills_the_segment_in_chunks_and_resumes_at_its_cursor(engine: Engine) -> None:
    shop = make_shop(engine)
    with write_transaction(engine) as conn:
        for n in range(5):
            person = internal.Person(user_id=f"u{n}", traits={"plan": "gold" if n % 2 == 0
                                                                else "basic"})  # fmt: skip
            internal.identify(conn, shop.workspace_id, "test", person, utcnow(), f"id-{n}")
    settle(engine)
    with write_transaction(engine) as conn:
        assert service.apply(conn, shop.workspace_id, GOLD)["version"] == 1
        detail = service.detail(conn, shop.workspace_id, "gold")
    assert detail["status"] == "building"
    assert (detail["build"]["done"], detail["build"]["total"]) == (0, 5)

    assert build_next_chunk(engine, chunk=2) == 2
    with engine.connect() as conn:
        build = conn.execute(select(SegmentBuild)).one()
        assert build.done == 2 and build.cursor is not None and build.status == "pending"
    # A restart: a new worker picks the build up where the cursor is.
    while build_next_chunk(engine, chunk=2):
        pass
    with engine.connect() as conn:
        detail = service.detail(conn, shop.workspace_id, "gold")
        segment = membership.segment_by_key(conn, shop.workspace_id, "gold")
        assert segment is not None
        assert membership.count(conn, segment.id) == 3
        changes = membership.changes_after(conn, segment.id, 0, 100)
        assert [c.change for c in changes] == ["entered"] * 3
        # No own events for a build's initial fill (trigger_on_build is off).
        assert conn.execute(select(SegmentChange.person_id)).scalars().all()
    assert detail["status"] == "ready"
    assert (detail["build"]["status"], detail["build"]["done"], detail["build"]["total"]) == (
        "done", 5, 5)  # fmt: skip
