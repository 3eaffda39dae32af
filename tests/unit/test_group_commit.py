"""Group commit: units from many threads share commits, each gets its own result, and a unit
that fails fails alone."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Connection, create_engine, text

from nerve.db.group_commit import GroupCommit


def test_threads_share_commits_and_a_failing_unit_fails_alone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite:///{tmp_path}/g.db")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY)"))
    commits = []
    group = GroupCommit(engine)
    original = group._batcher._process

    def counting(units):  # type: ignore[no-untyped-def]
        commits.append(len(units))
        return original(units)

    group._batcher._process = counting
    gate = threading.Barrier(8)

    def insert(n: int) -> int:
        gate.wait() if n < 8 else None

        def work(conn: Connection) -> int:
            if n == 13:
                raise ValueError("thirteen")
            conn.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": n})
            return n * 2

        return group.run(work)

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(insert, n) for n in range(200)]
    results = {n: f.exception() or f.result() for n, f in enumerate(futures)}
    assert isinstance(results.pop(13), ValueError)
    assert results == {n: n * 2 for n in range(200) if n != 13}
    with engine.connect() as conn:
        stored = {row[0] for row in conn.execute(text("SELECT n FROM t"))}
    assert stored == set(range(200)) - {13}
    assert sum(1 for size in commits if size > 1) > 0  # some commits carried several units
    with pytest.raises(ValueError):
        group.run(lambda conn: int("x"))
