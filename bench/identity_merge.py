"""Merge latency: a big anonymous profile signs into a known customer; the resolver call that
merges them is timed, with the SQL it sends."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from identity_profile import StatementLog
from identity_report import progress
from identity_store import Inserter, Shop
from identity_stream import START, WINDOW_SECONDS, MessageBuilder, Plan
from sqlalchemy import Engine, select

from nerve.identity.models import Identifier, Merge
from nerve.identity.resolver import resolve_pending
from nerve.identity.rules import load_rules
from nerve.pipeline import CONSUMERS
from nerve.profiles import service as profiles


@dataclass(frozen=True)
class MergeTest:
    events: int  # on the anonymous profile
    repeats: int
    chunk: int  # events per insert commit
    batch: int  # resolve_pending limit
    seed: int


def merge_latency(
    engine: Engine, inserter: Inserter, plan: Plan, opts: MergeTest, budget_end: float
) -> dict[str, Any]:
    """Phase 3: sign a big anonymous profile into a known customer; time the merging call."""
    builder = MessageBuilder(plan, opts.seed + 1000)
    known = _known_customers(engine, inserter, plan, builder, opts.repeats)
    rules = _rules(engine, inserter.shop)
    samples: list[dict[str, Any]] = []
    with progress() as bar:
        task = bar.add_task("merge", total=len(known))
        for number, (user_id, email) in enumerate(known):
            sample = _one_merge(engine, inserter, builder, opts, number, user_id, email, rules)
            samples.append(sample)
            bar.advance(task)
            if time.perf_counter() > budget_end and len(samples) >= 3:
                break
    latencies = sorted(s["merge_seconds"] for s in samples)
    sql: Counter[str] = Counter()
    for sample in samples:
        sql.update(sample["sql_seconds"])
    backlog_seconds = sum(s["backlog_seconds"] for s in samples)
    return {
        "merge_events": opts.events,
        "repeats": len(samples),
        "all_merged": all(s["merged"] for s in samples),
        "p50_ms": round(1000 * _percentile(latencies, 50), 2),
        "p99_ms": round(1000 * _percentile(latencies, 99), 2),
        "max_ms": round(1000 * latencies[-1], 2),
        "statements_per_merge": samples[0]["statements"],
        "sql_ms_per_merge": round(1000 * sum(sql.values()) / len(samples), 2),
        "slowest_statements_ms": {
            key: round(1000 * seconds / len(samples), 2) for key, seconds in sql.most_common(4)
        },
        "backlog_events_per_second": round(opts.events * len(samples) / backlog_seconds, 1),
        "person_view_p50_ms": round(
            1000 * _percentile(sorted(s["person_view_seconds"] for s in samples), 50), 2
        ),
        "samples": samples,
    }


def _one_merge(
    engine: Engine,
    inserter: Inserter,
    builder: MessageBuilder,
    opts: MergeTest,
    number: int,
    user_id: str,
    email: str,
    rules: Any,
) -> dict[str, Any]:
    anonymous_id = str(uuid.uuid4())
    first = START + timedelta(seconds=WINDOW_SECONDS + 3600 * number)
    for offset in range(0, opts.events, opts.chunk):
        count = min(opts.chunk, opts.events - offset)
        inserter.insert(
            (builder.browsing(anonymous_id, first + timedelta(seconds=offset + i)), "web")
            for i in range(count)
        )
    backlog_started = time.perf_counter()
    while resolve_pending(engine, CONSUMERS, opts.batch):
        pass  # resolve the whole backlog, batch after batch
    backlog_seconds = time.perf_counter() - backlog_started
    at = first + timedelta(seconds=opts.events + 60)
    inserter.insert([(builder.identify(user_id, anonymous_id, email, at), "web")])
    statements = StatementLog()
    statements.attach(engine)
    started = time.perf_counter()
    resolved = resolve_pending(engine, CONSUMERS, opts.batch)
    merge_seconds = time.perf_counter() - started
    statements.detach(engine)
    with engine.connect() as conn:
        kinds = conn.scalars(select(Merge.kind).where(Merge.event_id == resolved[0].id)).all()
        viewed = time.perf_counter()
        person = profiles.lookup(conn, inserter.shop.workspace_id, f"user_id:{user_id}")
        person_view_seconds = time.perf_counter() - viewed
    return {
        "merge_seconds": round(merge_seconds, 6),
        "statements": sum(statements.count.values()),
        "sql_seconds": {key: round(t, 6) for key, t in statements.seconds.most_common()},
        "resolved_in_call": len(resolved),
        "merged": list(kinds) == ["merged"] and len(resolved) == 1,
        "profiles_in_person": 1 + len(person.merged_ids),
        "person_view_seconds": round(person_view_seconds, 6),
        "backlog_events": opts.events,
        "backlog_seconds": round(backlog_seconds, 3),
    }


def _known_customers(
    engine: Engine, inserter: Inserter, plan: Plan, builder: MessageBuilder, count: int
) -> list[tuple[str, str]]:
    """Customers from the stream that already have a profile, spread over the stream; new
    customers (signed in once on a fresh device) if the stream was not resolved that far."""
    step = max(1, len(plan.customers) // count)
    candidates = {c.user_id: c.email for c in plan.customers[::step]}
    with engine.connect() as conn:
        have = set(
            conn.scalars(
                select(Identifier.value).where(
                    Identifier.type == "user_id", Identifier.value.in_(list(candidates))
                )
            )
        )
    known = [(user_id, email) for user_id, email in candidates.items() if user_id in have][:count]
    fresh = [(f"bench_user_{n}", f"bench.user{n}@example.com") for n in range(count - len(known))]
    if fresh:
        at = START + timedelta(seconds=WINDOW_SECONDS)
        inserter.insert(
            (builder.identify(user_id, str(uuid.uuid4()), email, at), "web")
            for user_id, email in fresh
        )
        while resolve_pending(engine, CONSUMERS):
            pass  # until nothing is left unresolved
    return known + fresh


def _rules(engine: Engine, shop: Shop) -> Any:
    with engine.connect() as conn:
        return load_rules(conn, shop.workspace_id)


def _percentile(ordered: list[float], percent: float) -> float:
    """Nearest rank: with fewer than 100 samples, p99 is the largest."""
    rank = max(1, -(-len(ordered) * percent // 100))
    return ordered[int(rank) - 1]
