"""What operators alert on, read from the database at scrape time (true for all workers):
dead letters waiting for a look, tasks due now, and how late the oldest of them is."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from nerve.db.dialect import dialect_of
from nerve.flows.models import DeadLetter, Task


def gauges(conn: Connection) -> dict[str, tuple[str, float]]:
    """Metric name → (help, value)."""
    now = dialect_of(conn).now(conn)
    letters = conn.scalar(
        select(func.count()).select_from(DeadLetter).where(DeadLetter.replayed_at.is_(None))
    )
    # Both read the partial index of pending tasks by due time.
    due = select(Task.due_at).where(Task.status == "pending", Task.due_at <= now)
    due_count = conn.scalar(select(func.count()).select_from(due.subquery()))
    oldest = conn.scalar(select(func.min(Task.due_at)).where(Task.status == "pending"))
    late = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return {
        "nerve_flow_dead_letters_waiting": ("Dead letters not yet replayed", float(letters or 0)),
        "nerve_flow_tasks_due": ("Flow tasks due now and not yet claimed", float(due_count or 0)),
        "nerve_flow_oldest_due_seconds": (
            "How long the oldest unclaimed due task has been due",
            late,
        ),
    }
