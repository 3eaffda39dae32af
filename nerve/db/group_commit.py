"""Doing many threads' small pieces of work together: reads in one transaction, writes in one
commit.

`Batcher` queues what concurrent threads hand it; the first thread to arrive processes every item
queued so far as one group, and those that arrive meanwhile go together in the next group,
processed by whichever of them is first. So a busy process does few, large units of work and a
quiet one does each at once. `GroupCommit` is the writing kind: a sender thread that must record
something durably (a message logged, a message marked sent) waits until the transaction holding
its unit has committed — one fsync and one SQLite write lock for a whole group, the same idea as
the tracking API's EventWriter, for code that runs on threads rather than in the event loop.
A unit that raises fails only itself: the group is rolled back and its units run again, each in a
transaction of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine

from nerve.db.engine import write_transaction

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Item(Generic[T]):
    value: T
    done: bool = False
    result: Any = None
    error: BaseException | None = None


class Batcher(Generic[T, R]):
    """`process(values)` returns one result — or an exception, raised to that item's caller —
    per value, in order."""

    def __init__(
        self, process: Callable[[Sequence[T]], Sequence[R | BaseException]], max_group: int = 500
    ) -> None:
        self._process, self._max = process, max_group
        self._queue: list[_Item[T]] = []
        self._changed = threading.Condition()
        self._working = False

    def run(self, value: T) -> R:
        item: _Item[T] = _Item(value)
        with self._changed:
            self._queue.append(item)
            while not item.done:
                if self._working:  # another thread processes a group: wait, then look again
                    self._changed.wait()
                    continue
                self._working = True
                group, self._queue = self._queue[: self._max], self._queue[self._max :]
                self._changed.release()
                try:
                    self._finish(group)
                finally:
                    self._changed.acquire()
                    self._working = False
                    self._changed.notify_all()
        if item.error is not None:
            raise item.error
        return item.result  # type: ignore[no-any-return]

    def _finish(self, group: list[_Item[T]]) -> None:
        try:
            results = self._process([item.value for item in group])
        except Exception as exc:
            results = [exc] * len(group)
        finally:
            for item in group:
                item.done = True
                item.error = RuntimeError("interrupted")  # unless a result says otherwise
        for item, result in zip(group, results, strict=True):
            item.error = result if isinstance(result, BaseException) else None
            item.result = None if isinstance(result, BaseException) else result


class GroupCommit:
    """Units of work (`work(conn)`) committed together in write transactions."""

    def __init__(self, engine: Engine, max_group: int = 500) -> None:
        self._engine = engine
        self._batcher: Batcher[Callable[[Connection], Any], Any] = Batcher(self._commit, max_group)

    def run(self, work: Callable[[Connection], T]) -> T:
        """`work(conn)` inside a committed write transaction (shared with others); its result,
        or what it raised."""
        return self._batcher.run(work)  # type: ignore[no-any-return]

    def _commit(self, units: Sequence[Callable[[Connection], Any]]) -> list[Any]:
        try:
            with write_transaction(self._engine) as conn:
                return [unit(conn) for unit in units]
        except Exception as exc:
            if len(units) == 1:
                return [exc]
        # One unit's failure must not fail the others': each again, in its own transaction.
        return [result for unit in units for result in self._commit([unit])]
