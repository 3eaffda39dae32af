"""Run wrk with `bench/tracking.lua` and account for where the machine's CPU time went."""

from __future__ import annotations

import base64
import os
import resource
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

LUA_SCRIPT = Path(__file__).with_name("tracking.lua")
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Load:
    url: str
    template: Path
    write_key: str
    run_id: str
    seconds: float
    connections: int
    threads: int


@dataclass(frozen=True)
class CpuShares:
    """CPU used during a run, in % of one core (the machine has os.cpu_count() cores)."""

    wrk: float
    server: float
    postgres: float
    other: float
    idle: float


@dataclass(frozen=True)
class WrkResult:
    requests: int  # responses received in time
    sent: int  # requests written; sent - requests were cut off when the time was up
    duration_s: float
    status_errors: int  # responses with status >= 400
    socket_errors: int  # connect, read, write and timeout errors
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    cpu: CpuShares

    @property
    def ok_requests(self) -> int:
        return self.requests - self.status_errors

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.duration_s

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "requests_per_second": self.requests_per_second}


def basic_auth(write_key: str) -> str:
    """Segment's convention: the write key is the Basic-auth user name, the password is empty."""
    return "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()


def run_wrk(load: Load, server_pid: int) -> WrkResult:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    command = [
        wrk,
        f"--threads={load.threads}",
        f"--connections={load.connections}",
        f"--duration={max(1, round(load.seconds))}s",
        "--timeout=30s",
        f"--script={LUA_SCRIPT}",
        load.url,
        "--",
        str(load.template),
        basic_auth(load.write_key),
        load.run_id,
    ]
    before = _CpuSample.take(server_pid)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    cpu = before.shares_until(_CpuSample.take(server_pid))
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    for line in done.stdout.splitlines():
        if line.startswith("WRK_RESULT "):
            return _parse(orjson.loads(line.removeprefix("WRK_RESULT ")), cpu)
    raise SystemExit(f"wrk printed no WRK_RESULT line:\n{done.stdout}{done.stderr}")


def machine_busy_percent(seconds: float = 1.0) -> float:
    """CPU the whole machine used over `seconds`, in % of all its cores."""

    def sample() -> tuple[float, float]:
        with open("/proc/stat") as stat:
            fields = [float(v) for v in stat.readline().split()[1:9]]
        return sum(fields), fields[3] + fields[4]

    total_before, idle_before = sample()
    time.sleep(seconds)
    total_after, idle_after = sample()
    total = total_after - total_before
    return 100 * (total - (idle_after - idle_before)) / total if total else 0.0


def wait_until_quiet(max_wait: float, threshold: float = 10.0) -> float:
    """Wait (up to `max_wait` s) for other processes to leave the machine idle.

    The machine may be shared (other test suites, other benchmarks); figures measured while
    something else takes a core say little. Returns the last busy % seen.
    """
    deadline = time.monotonic() + max_wait
    busy = machine_busy_percent()
    while busy > threshold and time.monotonic() < deadline:
        busy = machine_busy_percent()
    return busy


def _parse(raw: dict[str, Any], cpu: CpuShares) -> WrkResult:
    errors, latency = raw["errors"], raw["latency_us"]
    return WrkResult(
        requests=raw["requests"],
        sent=raw["sent"],
        duration_s=raw["duration_us"] / 1e6,
        status_errors=errors["status"],
        socket_errors=errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        cpu=cpu,
    )


@dataclass(frozen=True)
class _CpuSample:
    """Cumulative CPU seconds at one instant: machine total/idle, wrk, server tree, postgres."""

    at: float
    machine_busy: float
    machine_idle: float
    children: float
    server: dict[int, float]
    postgres: dict[int, float]

    @classmethod
    def take(cls, server_pid: int) -> _CpuSample:
        with open("/proc/stat") as stat:
            fields = [float(v) / _TICKS for v in stat.readline().split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        processes = _processes()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return cls(
            at=time.monotonic(),
            machine_busy=sum(fields[:8]) - idle,  # user..steal; guest time is inside user
            machine_idle=idle,
            # wrk is the only child reaped while it runs, so the delta is wrk's own CPU time.
            children=usage.ru_utime + usage.ru_stime,
            server=dict(_tree(processes, server_pid)),
            postgres={pid: cpu for pid, (_, name, cpu) in processes.items() if name == "postgres"},
        )

    def shares_until(self, later: _CpuSample) -> CpuShares:
        elapsed = later.at - self.at

        def share(seconds: float) -> float:
            return round(100 * seconds / elapsed, 1)

        def growth(before: dict[int, float], after: dict[int, float]) -> float:
            # Per process: a worker that uvicorn replaced mid-run takes its CPU time with it,
            # so that share is missed, but totals never go backwards.
            return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())

        wrk = later.children - self.children
        server = growth(self.server, later.server)
        postgres = growth(self.postgres, later.postgres)
        busy = later.machine_busy - self.machine_busy
        return CpuShares(
            wrk=share(wrk),
            server=share(server),
            postgres=share(postgres),
            other=share(max(0.0, busy - wrk - server - postgres)),
            idle=share(later.machine_idle - self.machine_idle),
        )


def _processes() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command name, CPU seconds used so far) for every process."""
    found: dict[int, tuple[int, str, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                text = stat.read()
        except OSError:  # it exited meanwhile
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        rest = text[text.rindex(")") + 2 :].split()
        found[int(entry)] = (int(rest[1]), name, (int(rest[11]) + int(rest[12])) / _TICKS)
    return found


def _tree(processes: dict[int, tuple[int, str, float]], root: int) -> list[tuple[int, float]]:
    """The root process and all its descendants (uvicorn's workers), with their CPU seconds."""
    members = {root}
    grew = True
    while grew:
        grew = False
        for pid, (parent, _, _) in processes.items():
            if parent in members and pid not in members:
                members.add(pid)
                grew = True
    return [(pid, processes[pid][2]) for pid in members if pid in processes]
