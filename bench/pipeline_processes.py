"""The processes of the end-to-end benchmark: `nerve serve`, `nerve worker`, the load generator,
py-spy, and who of them used the CPU.

Every `nerve` process gets the benchmark's environment, PYTHONPATH included, so that
`bench/pipeline.py --commit REV` can point them all at another commit's `nerve/`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from tracking_profile import summarize
from tracking_server import Database

LOAD_SCRIPT = Path(__file__).with_name("pipeline_load.py")
_NERVE = str(Path(sys.executable).parent / "nerve")


def _environment(database: Database, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NERVE_")}
    env |= {"NERVE_DATABASE_URL": database.url, "NERVE_LOG_LEVEL": "warning"}
    env |= {f"NERVE_{name.upper()}": value for name, value in settings.items()}
    return env


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class Server:
    pid: int
    base_url: str

    def children(self) -> list[int]:
        """The server's child processes (its embedded worker)."""
        with contextlib.suppress(OSError), open(f"/proc/{self.pid}/task/{self.pid}/children") as f:
            return [int(pid) for pid in f.read().split()]
        return []


@contextlib.contextmanager
def nerve_serve(database: Database, embedded_worker: bool) -> Iterator[Server]:
    """`nerve serve` on a free port, with or without its embedded worker (identity
    resolution and flows); returns once `/healthz` answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = _environment(database, embedded_worker=str(embedded_worker).lower())
    log_path = database.workdir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [_NERVE, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, cwd=database.workdir, stdout=log, stderr=log,
        )  # fmt: skip
    try:
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"nerve serve did not start:\n{log_path.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        yield Server(process.pid, base_url)
    finally:
        _stop([process])


@contextlib.contextmanager
def nerve_workers(database: Database, count: int) -> Iterator[list[int]]:
    """`count` `nerve worker` processes; returns their pids once each has logged
    `worker_started`."""
    env = _environment(database, log_level="info", auto_migrate="false")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for n in range(count):
            with (database.workdir / f"worker-{n}.log").open("wb") as log:
                processes.append(
                    subprocess.Popen(
                        [_NERVE, "worker"], env=env, cwd=database.workdir, stdout=log, stderr=log
                    )
                )
        deadline = time.monotonic() + 120
        for n, process in enumerate(processes):
            log_path = database.workdir / f"worker-{n}.log"
            while "worker_started" not in log_path.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"nerve worker did not start:\n{log_path.read_text()}")
                time.sleep(0.1)
        yield [process.pid for process in processes]
    finally:
        _stop(processes)


def logged_errors(database: Database) -> list[str]:
    """Error lines the server and workers logged (a failing resolver makes figures lie)."""
    found = []
    for log_path in sorted(database.workdir.glob("*.log")):
        for line in log_path.read_text(errors="replace").splitlines():
            if "[error" in line or "Traceback" in line:
                found.append(f"{log_path.name}: {line.strip()}")
    return found


class Load:
    """bench/pipeline_load.py in its own process: /v1/batch of 100 events on N connections, as
    fast as the server answers or at `rate` events/s."""

    def __init__(
        self, server: Server, write_key: str, connections: int, people: int, tag: str, rate: float
    ) -> None:
        command = [
            sys.executable, str(LOAD_SCRIPT), f"--url={server.base_url}",
            f"--write-key={write_key}",  # `=`: a key may start with "-"
            f"--connections={connections}", f"--people={people}", f"--tag={tag}",
            f"--rate={rate}",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("LOAD_STARTED"):
            raise SystemExit(f"the load generator did not start: {line}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> dict[str, Any]:
        """Ends the load after the requests in flight; its own figures."""
        self.process.send_signal(signal.SIGTERM)
        output, _ = self.process.communicate(timeout=120)
        for line in output.splitlines():
            if line.startswith("LOAD_RESULT "):
                result: dict[str, Any] = orjson.loads(line.removeprefix("LOAD_RESULT "))
                return result
        raise SystemExit(f"the load generator printed no result:\n{output}")


# --- CPU ------------------------------------------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    # utime + stime, and cutime + cstime: the postmaster is charged with the backends it
    # reaped (SQLAlchemy closes overflow connections), which would otherwise count as `other`.
    return sum(int(value) for value in fields[11:15]) / _TICKS


def _postgres_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/comm") as comm:
                if comm.read().strip() == "postgres":
                    pids.append(int(entry))
    return pids


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds used so far by each role's processes and by the whole machine."""

    at: float
    busy: float  # all cores
    roles: dict[str, dict[int, float]]

    @classmethod
    def take(cls, roles: dict[str, list[int]]) -> CpuSnapshot:
        with open("/proc/stat") as stat:
            fields = [float(v) / _TICKS for v in stat.readline().split()[1:9]]
        busy = sum(fields) - fields[3] - fields[4]  # all but idle and iowait
        every = {**roles, "postgres": _postgres_pids()}  # all of the server's processes
        cpu = {role: {pid: _process_cpu(pid) for pid in pids} for role, pids in every.items()}
        return cls(time.monotonic(), busy, cpu)

    def shares_until(self, later: CpuSnapshot) -> dict[str, float]:
        """% of one core per role over the interval, then `other` and `idle`."""
        elapsed = later.at - self.at
        shares, used = {}, 0.0
        for role, pids in later.roles.items():
            seconds = sum(t - self.roles.get(role, {}).get(pid, 0.0) for pid, t in pids.items())
            shares[role], used = round(100 * seconds / elapsed, 1), used + seconds
        busy = later.busy - self.busy
        cores = os.cpu_count() or 1
        shares["other"] = round(100 * max(0.0, busy - used) / elapsed, 1)
        shares["idle"] = round(100 * max(0.0, cores * elapsed - busy) / elapsed, 1)
        return shares


# --- py-spy ---------------------------------------------------------------------------------


class PySpy:
    """py-spy sampling one process for `seconds` (raw stacks to `output`)."""

    def __init__(self, pid: int, seconds: float, output: Path) -> None:
        py_spy = Path(sys.executable).parent / "py-spy"
        if not py_spy.exists():
            raise SystemExit(
                "--profile needs py-spy: uv pip install --python .venv/bin/python py-spy"
            )
        self.output = output
        command = [
            str(py_spy), "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
            "--rate", "100", "--format", "raw", "--output", str(output), "--threads",
            "--nolineno", "--nonblocking",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def finish(self) -> dict[str, Any]:
        """Shares of samples per thread, self time, inclusive time of nerve/ functions."""
        _, errors = self.process.communicate(timeout=120)
        if self.process.returncode != 0 or not self.output.exists():
            return {"error": errors.decode(errors="replace").strip()}
        summary = summarize(self.output.read_text())
        summary["raw_file"] = str(self.output)
        return summary
