"""Where identity resolution spends its time: a count of its SQL, and py-spy on this process.

The statement log is cheap and always on. py-spy (`--profile`) slows the resolver down, so a
profiled run's throughput is not comparable with a plain one. It is not a project dependency:
`uv pip install --python .venv/bin/python py-spy`.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

_TOP = 15
_PLACEHOLDER_LIST = re.compile(r"\((?:VALUES )?(?:\s*(?:\?|\(…\))\s*,?)+\)")
_COLUMN_LIST = re.compile(r"^SELECT (.{30,}?) FROM ", re.DOTALL)
_QUALIFIED = re.compile(r"\b[a-z_]+\.([a-z_]+)\b")
_SPACES = re.compile(r"\s+")
_NAMED_PLACEHOLDER = re.compile(r"%\(\w+\)s")
_CAST = re.compile(
    r"::(?:VARCHAR|BIGINT|INTEGER|FLOAT|JSONB|JSON|TEXT|BOOLEAN|NUMERIC|TIMESTAMP WITH TIME ZONE)"
)


# Leaf frames in which the thread waits for the database: sqlite3's C calls show up as the
# SQLAlchemy frame that made them; psycopg waits in its own Python code.
_DATABASE_FRAMES = (
    ".do_execute ", ".do_executemany ", ".do_commit ", "Connection.wait (psycopg/",
    "_communicate_gen (psycopg/", "Pipeline.sync (psycopg/",
)  # fmt: skip


def py_spy() -> str:
    beside_python = Path(sys.executable).parent / "py-spy"
    found = str(beside_python) if beside_python.exists() else shutil.which("py-spy")
    if found is None:
        raise SystemExit("--profile needs py-spy: uv pip install --python .venv/bin/python py-spy")
    return found


@dataclass
class StatementLog:
    """Count and time every SQL statement an engine sends (from cursor execute to its return)."""

    count: Counter[str] = field(default_factory=Counter)
    rows: Counter[str] = field(default_factory=Counter)  # parameter sets: executemany sends many
    seconds: Counter[str] = field(default_factory=Counter)
    # Statement text → shape; the texts come from SQLAlchemy's compiled cache, so a dict lookup
    # keeps the listener's cost at a few microseconds a statement (statements take ~0.5 ms).
    _shapes: dict[str, str] = field(default_factory=dict)

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def detach(self, engine: Engine) -> None:
        event.remove(engine, "before_cursor_execute", self._before)
        event.remove(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, _cursor: Any, *_args: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def _after(
        self, conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool
    ) -> None:
        key = self._shapes.get(statement)
        if key is None:
            key = self._shapes[statement] = shape(statement)
        self.count[key] += 1
        self.rows[key] += len(parameters) if many else 1
        self.seconds[key] += time.perf_counter() - conn.info.pop("bench_started")

    def summary(self, wall_seconds: float, events: int, batches: int) -> dict[str, Any]:
        total, rows = sum(self.count.values()), sum(self.rows.values())
        return {
            "statements": total,
            "statements_per_batch": round(total / batches, 1) if batches else None,
            "parameter_sets_per_event": round(rows / events, 2) if events else None,
            "database_seconds": round(sum(self.seconds.values()), 3),
            "share_of_wall": round(sum(self.seconds.values()) / wall_seconds, 3),
            "top": [
                {
                    "statement": key,
                    "count": self.count[key],
                    "per_batch": round(self.count[key] / batches, 2) if batches else None,
                    "rows_per_event": round(self.rows[key] / events, 2) if events else None,
                    "seconds": round(seconds, 3),
                    "share_of_wall": round(seconds / wall_seconds, 3),
                }
                for key, seconds in self.seconds.most_common(_TOP)
            ],
        }


def shape(statement: str) -> str:
    """One short text per query shape: IN lists, long column lists, table prefixes dropped."""
    text = _QUALIFIED.sub(r"\1", _SPACES.sub(" ", statement).strip())
    text = _CAST.sub("", _NAMED_PLACEHOLDER.sub("?", text))  # psycopg's %(name)s::TYPE → ?
    for _ in range(2):  # tuple IN lists: ((?, ?), (?, ?)) → (…)
        text = _PLACEHOLDER_LIST.sub("(…)", text)
    return _COLUMN_LIST.sub("SELECT … FROM ", text)


class Sampler:
    """py-spy recording this very process until `stop`."""

    def __init__(self, output: Path) -> None:
        self.output = output
        command = [
            py_spy(), "record", "--pid", str(os.getpid()), "--rate", "250", "--format", "raw",
            "--output", str(output), "--nolineno", "--nonblocking",
        ]  # fmt: skip
        self._spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.0)  # let py-spy attach before the work starts

    def stop(self) -> dict[str, Any]:
        self._spy.send_signal(signal.SIGINT)  # py-spy writes its file when interrupted
        _, errors = self._spy.communicate(timeout=120)
        if not self.output.exists():
            return {"error": errors.decode(errors="replace").strip()}
        return summarize(self.output.read_text())


def summarize(raw: str) -> dict[str, Any]:
    """Self time per frame, inclusive time of nerve/ frames, and a split by layer.

    A raw line is `frame;frame;... count`, outermost frame first.
    """
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = stack.split(";")
        if not any(" (nerve/identity/resolver.py)" in frame for frame in frames):
            continue  # the sampler's start-up, the progress bar's thread, ...
        count = int(count_text)
        total += count
        own[frames[-1]] += count
        layers[_layer(frames[-1])] += count
        for frame in set(frames):
            if "(nerve/" in frame:
                inclusive[frame] += count

    def shares(counter: Counter[str], top: int) -> list[dict[str, Any]]:
        return [
            {"frame": frame, "percent": round(100 * n / total, 1)}
            for frame, n in counter.most_common(top)
        ]

    return {
        "samples": total,
        "layers": shares(layers, 10),
        "self": shares(own, _TOP),
        "inclusive": shares(inclusive, _TOP + 5),
    }


def _layer(leaf: str) -> str:
    """Which layer the sampled thread was in when it was caught."""
    if any(name in leaf for name in _DATABASE_FRAMES):
        return "database: SQL running, commit, round trips (driver waiting)"
    if "(sqlalchemy/" in leaf:
        return "SQLAlchemy: compiling, binding, result rows"
    if "(psycopg/" in leaf or "(psycopg_binary" in leaf:
        return "psycopg: adaptation, results"
    if "(nerve/" in leaf:
        return "nerve code itself"
    if "(pydantic" in leaf or "(orjson" in leaf or "json" in leaf:
        return "JSON / pydantic"
    return "other Python (stdlib, uuid, phonenumbers, ...)"
