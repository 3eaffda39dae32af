"""What the ingest guards cost: `/v1/batch` throughput with and without them, in one run.

The guards (issue 9): the depth check, the suppression of events that carry an erased person's
email or phone, and the scan for numbers a float cannot hold. Two servers run side by side on
one throw-away database, both ingest-only (no resolver competing for the CPU): `nerve serve`
as shipped, and the same with the guards taken out (`tracking_app.py --without-guards`). wrk
loads them in turn, A B B A ..., the fastest run of each is reported. The workspace has
`--erased` erased emails, and every event carries an email in `context.traits` (as
analytics.js sends it), so the suppression check hashes every event: its worst case.

    .venv/bin/python bench/tracking_guards.py                 # both backends, 3 x 10 s each
    .venv/bin/python bench/tracking_guards.py --backends sqlite --duration 5
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from tracking_load import Load, run_wrk, wait_until_quiet
from tracking_payloads import BATCH_EVENTS, batch_template
from tracking_server import (
    Database,
    Server,
    create_source,
    nerve_cli,
    running_server,
    throwaway_database,
    wait_for_stored,
)

from nerve.db.engine import make_engine, write_transaction
from nerve.privacy.models import ErasedIdentifier
from nerve.privacy.suppression import identifier_hash
from nerve.settings import Settings
from nerve.workspaces.models import Source
from nerve.workspaces.service import hash_key

RESULTS = Path(__file__).with_name("results")
console = Console(width=None if sys.stdout.isatty() else 150)


def _template_with_emails() -> str:
    body = orjson.loads(batch_template())
    for message in body["batch"]:
        number = message["userId"].removeprefix("user_")
        message["context"]["traits"] = {"email": f"shopper{number}@example.com"}
    return orjson.dumps(body).decode()


def _erase_addresses(database: Database, source_id: str, count: int) -> None:
    """`count` erased emails in the source's workspace, as an erasure leaves them."""
    engine = make_engine(Settings(database_url=database.url))
    with write_transaction(engine) as conn:
        workspace = conn.scalar(select(Source.workspace_id).where(Source.id == source_id))
        assert workspace is not None
        key = hash_key(conn, workspace)
        rows = [
            {"workspace_id": workspace, "type": "email",
             "hash": identifier_hash(key, f"erased{index}@example.com")}
            for index in range(count)
        ]  # fmt: skip
        conn.execute(ErasedIdentifier.__table__.insert(), rows)
    engine.dispose()


def _measure(
    database: Database, servers: dict[str, Server], template: Path, args: argparse.Namespace
) -> dict[str, list[float]]:
    source = create_source(database, "guards")
    _erase_addresses(database, source.id, args.erased)
    rates: dict[str, list[float]] = {name: [] for name in servers}
    stored = 0
    order = list(servers)
    for repeat in range(args.repeat):
        for name in order if repeat % 2 == 0 else reversed(order):
            server = servers[name]
            wait_until_quiet(args.wait_quiet)
            load = Load(
                f"{server.base_url}/v1/batch", template, source.write_key,
                f"{name}-{repeat}", args.duration, args.connections, 1,
            )  # fmt: skip
            result = run_wrk(load, server.pid)
            stored = wait_for_stored(
                database, source, stored + result.ok_requests * BATCH_EVENTS,
                stored + result.sent * BATCH_EVENTS,
            )  # fmt: skip
            if result.status_errors or result.socket_errors:
                raise SystemExit(f"{name}: {result.status_errors} non-2xx, socket errors")
            rate = result.ok_requests * BATCH_EVENTS / result.duration_s
            rates[name].append(rate)
            console.print(f"  {name:<15} {rate:>10,.0f} events/s")
    return rates


def measure_in_process(rounds: int = 300) -> dict[str, float]:
    """The guards' CPU per event where they run (parse and normalise a 100-event batch body),
    without HTTP or storage: the fastest of `rounds` interleaved rounds of each. Steadier than
    the HTTP figures, whose run-to-run spread on a shared 2-core machine is larger than the
    guards' cost."""
    import gc

    from tracking_payloads import fill

    from nerve import numbers
    from nerve.privacy.suppression import Suppressed
    from nerve.tracking import normalize, service
    from nerve.tracking.normalize import Limits
    from nerve.workspaces.service import SourceInfo

    body = fill(_template_with_emails(), "m1")
    limits = Limits(32_000, 500_000, 2_500)
    source = SourceInfo("src", "ws", "bench", "server", "key")
    key = b"k" * 32
    erased = {("email", identifier_hash(key, f"erased{n}@example.com")) for n in range(1000)}
    guarded = (numbers.loads, numbers.dumps, normalize._check_depth)

    def bare() -> None:
        numbers.loads = orjson.loads
        numbers.dumps = lambda value, option=None: orjson.dumps(value, option=option)  # type: ignore[assignment]
        normalize._check_depth = lambda document, payload: None  # type: ignore[assignment]

    def restore() -> None:
        numbers.loads, numbers.dumps, normalize._check_depth = guarded  # type: ignore[assignment]

    def per_event(suppressed: Suppressed) -> float:
        started = time.perf_counter()
        _, parsed = service.read_request("batch", body, None, limits)
        service.build_rows("batch", True, parsed, source, datetime.now(UTC), limits, suppressed)
        return (time.perf_counter() - started) / BATCH_EVENTS * 1e6

    with_erased = Suppressed(set(erased), key, "DE")
    times: dict[str, list[float]] = {"with guards": [], "no one erased": [], "without": []}
    gc.disable()
    try:
        for _ in range(rounds):
            restore()
            times["with guards"].append(per_event(with_erased))
            times["no one erased"].append(per_event(Suppressed()))
            bare()
            times["without"].append(per_event(Suppressed()))
    finally:
        restore()
        gc.enable()
    return {name: min(values) for name, values in times.items()}


def measure_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    console.rule(f"[bold]{backend}[/bold]")
    with throwaway_database(backend) as database:
        nerve_cli(database, "db", "upgrade")
        template = database.workdir / "batch-emails.json"
        template.write_text(_template_with_emails())
        with (
            running_server(database, 1) as guarded,
            running_server(database, 1, "--without-guards") as bare,
        ):
            servers = {"with guards": guarded, "without guards": bare}
            rates = _measure(database, servers, template, args)
    best = {name: max(values) for name, values in rates.items()}
    ratio = best["with guards"] / best["without guards"]
    return {"backend": backend, "runs": rates, "best": best, "ratio": ratio}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per server (best reported)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--erased", type=int, default=1000, help="erased emails in the workspace")
    parser.add_argument("--wait-quiet", type=float, default=20.0)
    args = parser.parse_args()
    os.environ["NERVE_EMBEDDED_WORKER"] = "false"  # ingest only, in both servers
    cpu = measure_in_process()
    console.print(
        "in process, parse + normalise, µs per event (fastest of 300 rounds): "
        + ", ".join(f"{name} {value:.2f}" for name, value in cpu.items())
        + f"; the guards add {cpu['with guards'] - cpu['without']:.2f} µs"
    )
    figures = [measure_backend(b.strip(), args) for b in args.backends.split(",") if b.strip()]
    table = Table(title=f"/v1/batch, {BATCH_EVENTS} events per request, best of {args.repeat}")
    for column in ("backend", "with guards ev/s", "without ev/s", "ratio", "guards cost"):
        table.add_column(column, justify="right")
    for row in figures:
        best = row["best"]
        table.add_row(
            row["backend"], f"{best['with guards']:,.0f}", f"{best['without guards']:,.0f}",
            f"{row['ratio']:.3f}", f"{(1 - row['ratio']) * 100:.1f} %",
        )  # fmt: skip
    console.print(table)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"tracking-guards-{stamp}.json"
    path.write_bytes(
        orjson.dumps({"options": vars(args), "in_process_us_per_event": cpu, "backends": figures})
    )
    console.print(f"figures written to {path}")


if __name__ == "__main__":
    main()
