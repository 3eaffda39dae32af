"""A throw-away database and a `nerve serve` subprocess on it, for the tracking benchmark."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

POSTGRES_ADMIN_URL = os.environ.get(
    "NERVE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@dataclass(frozen=True)
class Database:
    backend: str  # "sqlite" or "postgresql"
    url: str  # SQLAlchemy URL, as NERVE_DATABASE_URL
    workdir: Path  # cwd of the nerve processes; holds the SQLite file and wrk templates

    @property
    def sqlite_path(self) -> Path:
        return Path(self.url.removeprefix("sqlite:///"))

    @property
    def psycopg_url(self) -> str:
        return self.url.replace("postgresql+psycopg://", "postgresql://")


@contextlib.contextmanager
def throwaway_database(backend: str) -> Iterator[Database]:
    """A fresh database: a SQLite file in a temp dir, or a PostgreSQL database dropped after."""
    workdir = Path(tempfile.mkdtemp(prefix=f"nerve-bench-{backend}-"))
    try:
        if backend == "sqlite":
            yield Database(backend, f"sqlite:///{workdir / 'nerve.db'}", workdir)
            return
        name = f"nerve_bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace(
            "postgresql://", "postgresql+psycopg://"
        )
        try:
            yield Database(backend, f"{base}/{name}", workdir)
        finally:
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _nerve_executable() -> str:
    beside_python = Path(sys.executable).parent / "nerve"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nerve")
    if found is None:
        raise SystemExit("cannot find the `nerve` command; run with the project's virtualenv")
    return found


def _environment(database: Database) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NERVE_")}
    env["NERVE_DATABASE_URL"] = database.url
    env["NERVE_LOG_LEVEL"] = "warning"
    env["NERVE_OUTBOUND_ALLOW"] = "127.0.0.1/32"  # the benchmarks' webhook receivers
    if os.environ.get("NERVE_EMBEDDED_WORKER"):  # --ingest-only: no resolver in the server
        env["NERVE_EMBEDDED_WORKER"] = os.environ["NERVE_EMBEDDED_WORKER"]
    return env


def nerve_cli(database: Database, *args: str) -> str:
    """Run a `nerve` command against `database` (cwd = its workdir, so no stray .env is read)."""
    done = subprocess.run(
        [_nerve_executable(), *args],
        env=_environment(database),
        cwd=database.workdir,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"`nerve {' '.join(args)}` failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path
    workers: int

    @property
    def pid(self) -> int:
        return self.process.pid

    def counters(self) -> dict[str, float]:
        """Cumulative figures from the server's Prometheus `/metrics`.

        `commit_events`/`commits`: the group committer's histogram; `resolved`: events the
        identity resolver has attached to profiles (absent on servers without one). Empty with
        several workers: each keeps its own registry and any one of them answers a scrape, so
        differences between two scrapes would mean nothing.
        """
        if self.workers > 1:
            return {}
        names = {
            "nerve_event_commit_batch_events_sum": "commit_events",
            "nerve_event_commit_batch_events_count": "commits",
            "nerve_identity_events_resolved_total": "resolved",
        }
        found: dict[str, float] = {}
        for line in httpx.get(f"{self.base_url}/metrics", timeout=10).text.splitlines():
            name, _, value = line.partition(" ")
            if name in names:
                found[names[name]] = float(value)
        return found


@contextlib.contextmanager
def running_server(database: Database, workers: int, *extra: str) -> Iterator[Server]:
    """`nerve serve` on a free port, with the benchmark's `/v1/ping` baseline route added
    ([`tracking_app.py`](tracking_app.py)); returns once `/healthz` answers 200."""
    port = _free_port()
    app = Path(__file__).resolve().parent / "tracking_app.py"
    command = [sys.executable, str(app), "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        command += ["--workers", str(workers)]
    command += extra
    env = {**_environment(database), "PYTHONPATH": str(app.parent.parent)}  # for the workers
    log_path = database.workdir / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, cwd=database.workdir, stdout=log, stderr=log)
    server = Server(process, f"http://127.0.0.1:{port}", log_path, workers)
    try:
        _wait_until_healthy(server)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_healthy(server: Server, timeout: float = 180.0) -> None:
    # Generous: on a loaded 2-core machine uvicorn's supervisor was seen killing and restarting
    # `--workers` children that started too slowly to answer its liveness check.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"nerve serve exited:\n{server.log_path.read_text()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.base_url}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise SystemExit(f"nerve serve did not become healthy:\n{server.log_path.read_text()}")


@dataclass(frozen=True)
class Source:
    id: str
    write_key: str


def create_source(database: Database, name: str) -> Source:
    """A new source via the CLI; each wrk run gets its own, so its rows are counted exactly."""
    created = json.loads(
        nerve_cli(database, "sources", "create", name, "--kind", "server", "--json")
    )
    return Source(created["id"], created["write_key"])


def count_events(database: Database, source: Source) -> int:
    """Rows stored for one source (an index range on the (source_id, message_id) constraint)."""
    query = "SELECT count(*) FROM events WHERE source_id = {}"
    if database.backend == "sqlite":
        with contextlib.closing(sqlite3.connect(database.sqlite_path, timeout=30)) as conn:
            row = conn.execute(query.format("?"), (source.id,)).fetchone()
    else:
        with psycopg.connect(database.psycopg_url) as pg:
            row = pg.execute(query.format("%s"), (source.id,)).fetchone()
    assert row is not None
    return int(row[0])


def wait_for_stored(
    database: Database, source: Source, at_least: int, at_most: int, settle: float = 3.0
) -> int:
    """The source's row count once the server has finished with a wrk run's requests.

    Answered requests are committed before the answer, so `at_least` rows are there at once.
    Requests wrk cut off when its time was up may still be committing: wait until all
    `at_most` are in, or the count has stayed put for `settle` seconds (a cut-off request whose
    body wrk never finished sending is never stored). Gives up after two minutes.
    """
    last, since = count_events(database, source), time.monotonic()
    deadline = since + 120
    while last < at_most and time.monotonic() < deadline:
        time.sleep(0.25)
        now = count_events(database, source)
        if now != last:
            last, since = now, time.monotonic()
        elif last >= at_least and time.monotonic() - since >= settle:
            break
    return last
