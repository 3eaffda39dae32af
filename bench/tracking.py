"""Tracking API throughput: wrk against a real `nerve serve`, on SQLite and on PostgreSQL.

    .venv/bin/python bench/tracking.py [--duration 10] [--connections 32]
        [--backends sqlite,postgresql] [--workers N] [--profile]

Prints figures and writes them to bench/results/tracking-<timestamp>.json; it asserts nothing
about speed. It does check that every answered request was stored, and says so loudly if not.
See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from tracking_load import Load, WrkResult, run_wrk, wait_until_quiet
from tracking_payloads import BATCH_EVENTS, batch_template, single_event_template
from tracking_profile import profile_server
from tracking_reference import ReferenceResult, measure_postgresql, measure_sqlite
from tracking_report import print_backend, ratios
from tracking_server import (
    Database,
    Server,
    create_source,
    nerve_cli,
    running_server,
    throwaway_database,
    wait_for_stored,
)

import nerve

RESULTS = Path(__file__).with_name("results")
_QUIET = 10.0  # % of all cores: more than this before a run means something else is busy
# Wide enough for the tables when the output goes to a file or a pipe.
console = Console(width=None if sys.stdout.isatty() else 150)


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    template: str  # "single" or "batch"
    events_per_request: int
    stores: bool
    purpose: str


SCENARIOS = [
    Scenario("ping", "/v1/ping", "single", 1, False, "bare baseline: HTTP + body read"),
    Scenario("track", "/v1/track", "single", 1, True, "one event per request"),
    Scenario("batch", "/v1/batch", "batch", BATCH_EVENTS, True, "100 events per request"),
    Scenario("batch→ping", "/v1/ping", "batch", BATCH_EVENTS, False, "wrk check: batch body"),
]


@dataclass(frozen=True)
class Options:
    duration: float
    warmup: float
    connections: int
    threads: int
    workers: int
    reference_seconds: float
    repeat: int
    wait_quiet: float
    profile: bool


@dataclass
class Measured:
    scenario: Scenario
    wrk: WrkResult
    stored: int
    events_per_commit: float | None  # mean group-commit size during the run
    resolved: float | None  # events the identity resolver attached during the run
    machine_busy_before: float  # % of all cores busy just before the warm-up

    @property
    def events_per_second(self) -> float:
        return self.wrk.ok_requests * self.scenario.events_per_request / self.wrk.duration_s

    def check(self) -> tuple[bool, str]:
        """Were exactly the answered requests' events stored (and nothing refused)?"""
        wrk, per_request = self.wrk, self.scenario.events_per_request
        if wrk.requests == 0:
            return False, "no request answered in time"
        if wrk.status_errors or wrk.socket_errors:
            return False, f"{wrk.status_errors} non-2xx, {wrk.socket_errors} socket errors"
        expected = wrk.ok_requests * per_request if self.scenario.stores else 0
        if self.stored == expected:
            return True, "exact"
        # wrk stops with requests in flight; the server still commits them. They were never
        # answered to wrk, so they may add whole requests' worth of events, nothing else.
        extra, cut_off = self.stored - expected, wrk.sent - wrk.requests
        if self.scenario.stores and 0 < extra <= cut_off * per_request and extra % per_request == 0:
            return True, f"ok, +{extra // per_request} cut-off"
        return False, f"MISMATCH: {expected:,} expected"

    def as_dict(self) -> dict[str, Any]:
        ok, verdict = self.check()
        return {
            "scenario": asdict(self.scenario),
            "wrk": self.wrk.as_dict(),
            "events_per_second": self.events_per_second,
            "stored": self.stored,
            "events_per_commit": self.events_per_commit,
            "identity_resolved": self.resolved,
            "identity_resolved_per_second": (
                None if self.resolved is None else self.resolved / self.wrk.duration_s
            ),
            "machine_busy_before_percent": round(self.machine_busy_before, 1),
            "stored_check": {"ok": ok, "verdict": verdict},
        }


@dataclass
class ScenarioResult:
    """All measured repeats of one scenario; the fastest stands for it (interference from
    other processes on a shared machine only ever slows a run down)."""

    runs: list[Measured]

    @property
    def best(self) -> Measured:
        return max(self.runs, key=lambda run: run.wrk.requests_per_second)

    def as_dict(self) -> dict[str, Any]:
        checks = [run.check() for run in self.runs]
        failed = [verdict for ok, verdict in checks if not ok]
        rates = [run.wrk.requests_per_second for run in self.runs]
        return {
            **self.best.as_dict(),
            "stored_check": {
                "ok": not failed,
                "verdict": failed[0] if failed else self.best.check()[1],
                "all_repeats": [verdict for _, verdict in checks],
            },
            "repeats": len(self.runs),
            "requests_per_second_range": [min(rates), max(rates)],
        }


def measure_scenario(
    database: Database,
    server: Server,
    scenario: Scenario,
    templates: dict[str, Path],
    opts: Options,
) -> ScenarioResult:
    source = create_source(database, f"bench-{scenario.name}".replace("→", "-to-"))

    def load(run_id: str, seconds: float) -> WrkResult:
        url = f"{server.base_url}{scenario.path}"
        spec = Load(
            url, templates[scenario.template], source.write_key, run_id, seconds,
            opts.connections, opts.threads,
        )  # fmt: skip
        return run_wrk(spec, server.pid)

    def drained(before: int, result: WrkResult) -> int:
        per_request = scenario.events_per_request if scenario.stores else 0
        return wait_for_stored(
            database,
            source,
            at_least=before + result.ok_requests * per_request,
            at_most=before + result.sent * per_request,
        )

    runs, before = [], 0
    for repeat in range(opts.repeat):
        busy_before = wait_until_quiet(opts.wait_quiet, _QUIET)
        if repeat == 0:
            before = drained(0, load("warm", opts.warmup))
        counters_before = server.counters()
        result = load(f"run{repeat}", opts.duration)
        after = drained(before, result)
        stored, before = after - before, after
        change = {k: v - counters_before.get(k, 0.0) for k, v in server.counters().items()}
        commits = change.get("commits")
        per_commit = change["commit_events"] / commits if commits and scenario.stores else None
        resolved = change.get("resolved")
        run = Measured(scenario, result, stored, per_commit, resolved, busy_before)
        _print_progress(run)
        runs.append(run)
    return ScenarioResult(runs)


def _print_progress(run: Measured) -> None:
    ok, verdict = run.check()
    style = "green" if ok else "bold white on red"
    result = run.wrk
    console.print(
        f"  {run.scenario.name:<11} {result.requests_per_second:>9,.0f} req/s "
        f"p50 {result.p50_ms:>6.1f} ms  [{style}]{verdict}[/{style}]"
    )
    if run.machine_busy_before > _QUIET or result.cpu.other > 2 * _QUIET:
        console.print(
            f"  [yellow]the machine was not quiet: {run.machine_busy_before:.0f}% busy before "
            f"the run, {result.cpu.other:.0f}% of a core used by other processes during it"
        )


def write_templates(directory: Path) -> dict[str, Path]:
    templates = {"single": single_event_template(), "batch": batch_template()}
    paths = {}
    for name, text in templates.items():
        paths[name] = directory / f"{name}.json"
        paths[name].write_text(text)
    return paths


def measure_backend(backend: str, opts: Options, stamp: str) -> dict[str, Any]:
    workers = opts.workers if backend == "postgresql" else 1
    console.rule(f"[bold]{backend}[/bold] (server workers: {workers})")
    # Recorded per backend: on a shared work tree the code can change between backends.
    code = _code_under_test()
    dirty = " (nerve/ has uncommitted changes)" if code["nerve_dirty"] else ""
    console.print(
        f"  nerve imported from {code['nerve_imported_from']}; work tree at {code['commit']}{dirty}"
    )
    with throwaway_database(backend) as database:
        nerve_cli(database, "db", "upgrade")
        templates = write_templates(database.workdir)
        with running_server(database, workers) as server:
            runs = [measure_scenario(database, server, s, templates, opts) for s in SCENARIOS]
            profile = None
            if opts.profile:
                profile = profile_backend(database, server, templates, opts, backend, stamp)
        batch = next(run.best for run in runs if run.best.scenario.name == "batch")
        sizes = sorted({BATCH_EVENTS, max(BATCH_EVENTS, round(batch.events_per_commit or 0))})
        console.print("  storage reference (plain executemany) ...")
        references = storage_reference(database, templates["batch"].read_text(), sizes, opts)
    figures = {
        "backend": backend,
        "workers": workers,
        "code": code,
        "runs": {run.best.scenario.name: run.as_dict() for run in runs},
        "reference": [{**asdict(r), "events_per_second": r.events_per_second} for r in references],
        "profile": profile,
    }
    figures["ratios"] = ratios(figures)
    print_backend(console, figures)
    return figures


def storage_reference(
    database: Database, template: str, sizes: list[int], opts: Options
) -> list[ReferenceResult]:
    """The fastest of `--repeat` reference runs per durability level and commit size."""
    seconds = opts.reference_seconds

    def best(measure: Callable[[], ReferenceResult]) -> ReferenceResult:
        return max((measure() for _ in range(opts.repeat)), key=lambda r: r.events_per_second)

    if database.backend == "postgresql":
        url = database.psycopg_url
        return [best(partial(measure_postgresql, url, template, n, seconds)) for n in sizes]
    return [
        best(partial(measure_sqlite, database.workdir, template, n, synchronous, seconds))
        for synchronous in ("FULL", "NORMAL")
        for n in sizes
    ]


def profile_backend(
    database: Database,
    server: Server,
    templates: dict[str, Path],
    opts: Options,
    backend: str,
    stamp: str,
) -> dict[str, Any]:
    """One more batch run with py-spy attached (its figures are not used: sampling costs)."""
    source = create_source(database, "bench-profile")
    spec = Load(
        f"{server.base_url}/v1/batch", templates["batch"], source.write_key, "profile",
        opts.duration, opts.connections, opts.threads,
    )  # fmt: skip
    output = RESULTS / f"pyspy-{backend}-{stamp}.txt"
    console.print(f"  profiling the batch run with py-spy → {output}")
    return profile_server(server.pid, opts.duration, output, opts.workers > 1, spec)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per run")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--threads", type=int, default=1, choices=(1, 2), help="wrk threads")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--workers", type=int, default=1, help="server processes (PostgreSQL)")
    parser.add_argument("--reference-seconds", type=float, default=3.0)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measure each run (and reference) this many times and report the fastest",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=30.0,
        help="before each run, wait up to this many seconds for the machine to be idle",
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the server (batch run)")
    parser.add_argument(
        "--ingest-only",
        action="store_true",
        help="run the server without its embedded worker (identity resolution, flows), as the"
        " API processes of a PostgreSQL deployment run; measures ingest alone",
    )
    parser.add_argument("--show", type=Path, help="print the tables of a saved results file")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.ingest_only:
        os.environ["NERVE_EMBEDDED_WORKER"] = "false"
        console.print("ingest only: the server runs without its embedded worker")
    if args.show:
        saved = orjson.loads(args.show.read_bytes())
        for figures in saved["backends"].values():
            print_backend(console, figures)
        return
    opts = Options(
        args.duration, args.warmup, args.connections, args.threads, args.workers,
        args.reference_seconds, args.repeat, args.wait_quiet, args.profile,
    )  # fmt: skip
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(exist_ok=True)
    console.print(
        f"wrk: {opts.threads} thread(s), {opts.connections} connections, "
        f"{opts.warmup:g} s warm-up + {opts.duration:g} s per run; {os.cpu_count()} CPUs"
    )
    results = {
        "started_at": stamp,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "python": sys.version.split()[0],
        "options": asdict(opts),
        "backends": {backend: measure_backend(backend, opts, stamp) for backend in backends},
    }
    path = RESULTS / f"tracking-{stamp}.json"
    path.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    console.print(f"figures written to {path}")


def _code_under_test() -> dict[str, Any]:
    """The code under test: HEAD, whether nerve/ had uncommitted changes, where nerve came from
    (another directory when PYTHONPATH points at a copy of another commit)."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=Path(__file__).parent, capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    return {
        "nerve_imported_from": str(Path(nerve.__file__).parent),
        "commit": git("rev-parse", "--short", "HEAD"),
        "nerve_dirty": bool(git("status", "--porcelain", "--", "../nerve")),
    }


if __name__ == "__main__":
    started = time.monotonic()
    main()
    console.print(f"done in {time.monotonic() - started:.0f} s")
