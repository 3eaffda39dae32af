"""Who used the CPU during a phase: this process, its PostgreSQL backends, everything else.

The machine may be shared (test suites, other benchmarks); a phase measured while something
else held a core says less, so every phase reports the shares next to its figures.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from sqlalchemy import Engine, text

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSample:
    at: float
    machine_busy: float  # CPU seconds, all cores, since boot
    own: float  # this process, all threads
    backends: dict[int, float]  # PostgreSQL backends serving this benchmark's database

    @classmethod
    def take(cls, engine: Engine) -> CpuSample:
        with open("/proc/stat") as stat:
            fields = [float(v) / _TICKS for v in stat.readline().split()[1:9]]
        busy = sum(fields) - fields[3] - fields[4]  # all but idle and iowait
        return cls(time.monotonic(), busy, time.process_time(), _backend_cpu(engine))

    def shares_until(self, later: CpuSample) -> dict[str, float]:
        """CPU in % of one core over the interval (the machine has os.cpu_count() cores)."""
        elapsed = later.at - self.at

        def share(seconds: float) -> float:
            return round(100 * seconds / elapsed, 1) if elapsed > 0 else 0.0

        own = later.own - self.own
        backends = sum(cpu - self.backends.get(pid, 0.0) for pid, cpu in later.backends.items())
        busy = later.machine_busy - self.machine_busy
        return {
            "bench": share(own),
            "postgres_backends": share(backends),
            "other": share(max(0.0, busy - own - backends)),
        }


def _backend_cpu(engine: Engine) -> dict[int, float]:
    if engine.dialect.name != "postgresql":
        return {}
    with engine.connect() as conn:
        pids = conn.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).all()
    found = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:  # not on this machine, or gone
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / _TICKS
    return found
