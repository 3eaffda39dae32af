"""The build half of `segment_latency.py`: N profiles seeded directly in bulk, then a new
segment built over all of them by the segments worker's own `build_next_chunk`, beside the
floor of reading the same rows chunk by chunk with plain SELECTs.

Each seeded person is one profile with a `user_id`, first/last seen and interests, a `plan`
trait, and 0-3 `Product Viewed` events (one profile in four has none) over the last ten days,
as identity resolution and the profiles consumer would have left them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import orjson
from rich.progress import Progress
from sqlalchemy import Engine, insert, select

from nerve.db.base import utcnow
from nerve.db.engine import make_engine, write_transaction
from nerve.db.migrate import upgrade
from nerve.events.models import Event
from nerve.identity.models import Identifier, Profile
from nerve.profiles.models import ProfileAttributes, ProfileTrait
from nerve.segments import membership
from nerve.segments import service as segments
from nerve.segments.worker import BUILD_CHUNK, build_next_chunk
from nerve.settings import Settings
from nerve.workspaces.service import create_source, ensure_workspace

CATEGORIES = ("Running", "Hiking", "Tennis", "Swimming", "Yoga")
PLANS = ("gold", "silver", "free", "free")
SEED_CHUNK = 10_000
# Viewed Running at least twice this week, on a paid plan, and no order in 30 days.
BUILT = {
    "key": "paid_runners",
    "name": "Paid runners",
    "where": {"all": [
        {"event": "Product Viewed", "properties": {"category": "Running"}, "at_least": 2,
         "within": "7d"},
        {"trait": "plan", "in": ["gold", "silver"]},
        {"not": {"orders": {"at_least": 1, "within": "30d"}}},
    ]},
}  # fmt: skip


def _rows(workspace_id: str, source_id: str, start: int, stop: int, now: datetime
          ) -> dict[type, list[dict[str, Any]]]:  # fmt: skip
    rows: dict[type, list[dict[str, Any]]] = {
        Profile: [],
        Identifier: [],
        ProfileAttributes: [],
        ProfileTrait: [],
        Event: [],
    }
    for n in range(start, stop):
        profile, user = f"prf_bench{n:010d}", f"u{n}"
        first, last = now - timedelta(days=10), now - timedelta(minutes=n % 1440)
        rows[Profile].append({"id": profile, "workspace_id": workspace_id, "merged_into": None,
                              "cluster_id": profile, "created_at": first})  # fmt: skip
        rows[Identifier].append({"workspace_id": workspace_id, "type": "user_id", "value": user,
                                 "profile_id": profile, "created_at": first})  # fmt: skip
        category = CATEGORIES[n % len(CATEGORIES)]
        rows[ProfileAttributes].append({
            "profile_id": profile, "workspace_id": workspace_id, "first_seen": first,
            "last_seen": last, "timezone": None, "timezone_at": None, "sources": {},
            "interests": {f"category:{category}": 1.0 + n % 7},
        })  # fmt: skip
        rows[ProfileTrait].append({"profile_id": profile, "name": "plan",
                                   "workspace_id": workspace_id, "value": PLANS[n // 3 % 4],
                                   "observed_at": first, "event_id": None})  # fmt: skip
        for k in range(n % 4):
            at = now - timedelta(days=(n + k) % 10, seconds=k)
            viewed = "Running" if (n + k) % 3 == 0 else category
            payload = {"type": "track", "event": "Product Viewed", "userId": user,
                       "messageId": f"m{n}-{k}", "timestamp": at.isoformat(),
                       "properties": {"sku": f"SKU-{k}", "category": viewed}}  # fmt: skip
            rows[Event].append({
                "workspace_id": workspace_id, "source_id": source_id, "message_id": f"m{n}-{k}",
                "type": "track", "event": "Product Viewed", "user_id": user,
                "anonymous_id": None, "timestamp": at, "received_at": at,
                "payload": orjson.dumps(payload).decode(),
                "profile_id": profile,
            })  # fmt: skip
    return rows


def seed(engine: Engine, profiles: int) -> tuple[str, float]:
    """A workspace with `profiles` people; (its id, seconds taken)."""
    began = time.perf_counter()
    with write_transaction(engine) as conn:
        workspace_id = ensure_workspace(conn, "segment-bench")
        source_id = create_source(conn, workspace_id, "web", "web").id
    now = utcnow()
    with Progress(transient=True) as progress:
        task = progress.add_task(f"seeding {profiles:,} profiles", total=profiles)
        for start in range(0, profiles, SEED_CHUNK):
            stop = min(profiles, start + SEED_CHUNK)
            with write_transaction(engine) as conn:
                for model, rows in _rows(workspace_id, source_id, start, stop, now).items():
                    if rows:
                        conn.execute(insert(model), rows)
            progress.update(task, completed=stop)
    return workspace_id, time.perf_counter() - began


def build(engine: Engine, workspace_id: str) -> tuple[float, int]:
    """Apply `BUILT` and run its background build to the end; (seconds, members)."""
    with write_transaction(engine) as conn:
        segments.apply(conn, workspace_id, BUILT)
    began = time.perf_counter()
    while build_next_chunk(engine):
        pass
    seconds = time.perf_counter() - began
    with engine.connect() as conn:
        found = membership.segment_by_key(conn, workspace_id, BUILT["key"])
        members = 0 if found is None else membership.count(conn, found.id)
    return seconds, members


def _chunks(engine: Engine, workspace_id: str) -> Iterator[list[str]]:
    after = ""
    while True:
        with engine.connect() as conn:
            people = list(conn.scalars(
                select(Profile.id).where(Profile.workspace_id == workspace_id,
                                         Profile.id == Profile.cluster_id, Profile.id > after)
                .order_by(Profile.id).limit(BUILD_CHUNK)
            ))  # fmt: skip
        if not people:
            return
        yield people
        after = people[-1]


def floor(engine: Engine, workspace_id: str) -> float:
    """Seconds to read what the build reads, chunk by chunk, with nothing evaluated: the
    people, their `plan` traits and their Product Viewed events of the last 7 days."""
    since = utcnow() - timedelta(days=7)
    began = time.perf_counter()
    for people in _chunks(engine, workspace_id):
        with engine.connect() as conn:
            conn.execute(select(ProfileTrait.profile_id, ProfileTrait.value).where(
                ProfileTrait.profile_id.in_(people), ProfileTrait.name == "plan",
            )).all()  # fmt: skip
            conn.execute(select(Event.profile_id, Event.payload).where(
                Event.profile_id.in_(people), Event.event == "Product Viewed",
                Event.timestamp >= since)).all()  # fmt: skip
    return time.perf_counter() - began


def measure(url: str, profiles: int) -> dict[str, Any]:
    engine = make_engine(Settings(database_url=url))
    try:
        upgrade(engine)
        workspace_id, seeded = seed(engine, profiles)
        bare = floor(engine, workspace_id)
        seconds, members = build(engine, workspace_id)
    finally:
        engine.dispose()
    return {
        "profiles": profiles, "seed_s": round(seeded, 1), "build_s": round(seconds, 2),
        "build_rows_per_s": round(profiles / seconds), "members": members,
        "floor_s": round(bare, 2), "floor_rows_per_s": round(profiles / bare),
        "build_over_floor": round(bare / seconds, 3),
    }  # fmt: skip
