"""Group commit for threads: many small write transactions share one commit.

A sender thread that must record something durably (a message logged, a message marked sent)
hands a unit of work to `GroupCommit.run` and waits. The first thread to arrive commits every
unit queued so far in one transaction; those that arrive meanwhile queue up and go together in
the next, committed by whichever of them is first. So a busy process commits rarely (one fsync,
one SQLite write lock for a whole group) and a quiet one commits at once — the same idea as the
tracking API's EventWriter, for code that runs on threads rather than in the event loop.

A unit that raises fails only itself: the group is rolled back and its units run again, each
in a transaction of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine

from nerve.db.engine import write_transaction

T = TypeVar("T")


@dataclass
class _Unit(Generic[T]):
    work: Callable[[Connection], T]
    done: bool = False
    result: Any = None
    error: BaseException | None = None


class GroupCommit:
    def __init__(self, engine: Engine, max_group: int = 500) -> None:
        self._engine, self._max = engine, max_group
        self._queue: list[_Unit[Any]] = []
        self._changed = threading.Condition()
        self._committing = False

    def run(self, work: Callable[[Connection], T]) -> T:
        """`work(conn)` inside a committed write transaction (shared with others); its result,
        or what it raised."""
        unit: _Unit[T] = _Unit(work)
        with self._changed:
            self._queue.append(unit)
            while not unit.done:
                if self._committing:  # another thread commits a group: wait, then look again
                    self._changed.wait()
                    continue
                self._committing = True
                group, self._queue = self._queue[: self._max], self._queue[self._max :]
                self._changed.release()
                try:
                    self._commit(group)
                finally:
                    for abandoned in (u for u in group if not u.done):  # interrupted
                        abandoned.error, abandoned.done = RuntimeError("commit interrupted"), True
                    self._changed.acquire()
                    self._committing = False
                    self._changed.notify_all()
        if unit.error is not None:
            raise unit.error
        return unit.result  # type: ignore[no-any-return]

    def _commit(self, group: list[_Unit[Any]]) -> None:
        try:
            with write_transaction(self._engine) as conn:
                results = [unit.work(conn) for unit in group]
        except Exception as exc:
            if len(group) == 1:
                group[0].error, group[0].done = exc, True
                return
            for unit in group:  # one unit's failure must not fail the others'
                self._commit([unit])
            return
        for unit, result in zip(group, results, strict=True):
            unit.result, unit.done = result, True
