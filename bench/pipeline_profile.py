"""cProfile of the resolver with the pipeline benchmark's shop and flows, in one process: no
HTTP, no load generator, so the profile is the resolver's alone (profiles, orders, routing).

    .venv/bin/python bench/pipeline_profile.py                     # SQLite in a temp dir
    .venv/bin/python bench/pipeline_profile.py --no-profile        # the rate alone
    .venv/bin/python bench/pipeline_profile.py --url postgresql+psycopg://postgres@127.0.0.1/x

Stores 20,000 events and resolves them unprofiled (warm-up), stores 20,000 more and resolves
those under cProfile; prints events/s and the top functions by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from typing import Any

import orjson
import yaml
from identity_store import Inserter, prepare
from pipeline import FLOWS
from pipeline_load import Shop as Load

from nerve.db.engine import make_engine, write_transaction
from nerve.flows import engine as flows
from nerve.flows.definition import validate
from nerve.identity.resolver import resolve_pending
from nerve.pipeline import CONSUMERS
from nerve.settings import Settings


def _messages(load: Load, count: int) -> list[tuple[dict[str, Any], str]]:
    found: list[tuple[dict[str, Any], str]] = []
    while len(found) < count:
        found += [(message, "web") for message in orjson.loads(load.batch())["batch"]]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", help="database URL (default: SQLite in a temp dir)")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--batch", type=int, default=500, help="events per resolver transaction")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{tempfile.mkdtemp(prefix='nerve-profile-')}/p.db"
    engine = make_engine(Settings(database_url=url))
    shop = prepare(engine)
    with write_transaction(engine) as conn:
        for text in FLOWS.values():
            flows.publish(conn, shop.workspace_id, validate(yaml.safe_load(text)), "production")
    load, inserter = Load(20_000, "p", 1), Inserter(engine, shop)
    for phase in ("warm-up", "measured"):
        messages = _messages(load, args.events)
        for at in range(0, len(messages), 5_000):
            inserter.insert(messages[at : at + 5_000])
        profile = cProfile.Profile() if phase == "measured" and not args.no_profile else None
        started, resolved = time.perf_counter(), 0
        if profile:
            profile.enable()
        while events := resolve_pending(engine, CONSUMERS, args.batch):
            resolved += len(events)
        if profile:
            profile.disable()
        seconds = time.perf_counter() - started
        print(f"{phase}: {resolved:,} events in {seconds:.2f} s = {resolved / seconds:,.0f} ev/s")
        if profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
