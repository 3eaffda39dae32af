"""The identity resolver's queue: oldest unresolved events first, read through its own index."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, event, insert, update

from nerve.db.dialect import dialect_of
from nerve.events.models import Event
from tests.factories import make_shop


def _events(engine: Engine, count: int) -> None:
    shop = make_shop(engine, kinds=("web",))
    now = datetime.now(UTC)
    rows = [
        {"workspace_id": shop.workspace_id, "source_id": shop.source_ids["web"],
         "message_id": f"m{n}", "type": "track", "event": "Viewed", "anonymous_id": f"a{n}",
         "timestamp": now, "received_at": now,
         "payload": f"{{\"n\": {n}}}"}  # serialised, as tracking binds it
        for n in range(count)
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(Event), rows)
        conn.execute(update(Event).where(Event.id % 3 == 0).values(profile_id="prf_done"))


def test_the_queue_gives_the_oldest_unresolved_events_in_order(engine: Engine) -> None:
    _events(engine, 30)
    with engine.connect() as conn:
        rows = dialect_of(conn).claim_unresolved_events(conn, 5)
    assert [row[0] for row in rows] == [1, 2, 4, 5, 7]
    assert [row[5]["n"] for row in rows] == [0, 1, 3, 4, 6]  # JSON decoded
    assert all(row[3].tzinfo is not None for row in rows)


def test_on_sqlite_the_queue_reads_its_partial_index_without_sorting(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return
    _events(engine, 30)
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        seen.append((statement, parameters))

    with engine.connect() as conn:
        event.listen(conn, "before_cursor_execute", capture)
        dialect_of(conn).claim_unresolved_events(conn, 5)
        event.remove(conn, "before_cursor_execute", capture)
        [(statement, parameters)] = [s for s in seen if s[0].startswith("SELECT")]
        plan = " ".join(
            row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        )
    assert "ix_events_unresolved" in plan and "TEMP B-TREE" not in plan, plan
