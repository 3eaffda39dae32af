"""Event → first action latency through a real `nerve serve` (embedded worker) and receiver.

    .venv/bin/python bench/flow_latency.py [--backends sqlite,postgresql] [--events 300] [--rate 20]

A flow whose first node is a webhook; events are sent at a steady rate, each starting one run;
latency = receiver got the webhook - client sent the event (both on this machine's monotonic
clock). Prints p50/p90/p99; asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import httpx
import orjson
import yaml
from loopback_receiver import LoopbackReceiver
from rich.console import Console
from tracking_server import nerve_cli, running_server, throwaway_database

console = Console()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# Where the time goes, from the server's own histograms (means over the whole run).
_STAGES = {
    "commit": "nerve_event_commit_seconds",
    "resolution_lag": "nerve_identity_resolution_lag_seconds",
    "timer_lag": "nerve_flow_timer_lag_seconds",
}


def _stage_means(exposition: str) -> dict[str, float]:
    means = {}
    for stage, name in _STAGES.items():
        total = re.search(rf"^{name}_sum(?:{{[^}}]*}})? (\S+)$", exposition, re.M)
        count = re.search(rf"^{name}_count(?:{{[^}}]*}})? (\S+)$", exposition, re.M)
        if total and count and float(count.group(1)):
            means[stage] = round(float(total.group(1)) / float(count.group(1)) * 1000, 1)
    for kind, total in re.findall(
        r'^nerve_flow_step_seconds_sum{kind="(\w+)"} (\S+)$', exposition, re.M
    ):
        pattern = rf'^nerve_flow_step_seconds_count{{kind="{kind}"}} (\S+)$'
        count = re.search(pattern, exposition, re.M)
        if count and float(count.group(1)):
            means[f"step_{kind}"] = round(float(total) / float(count.group(1)) * 1000, 1)
    return means


def measure(backend: str, events: int, rate: float) -> dict[str, Any]:
    arrived: dict[str, float] = {}
    receiver = LoopbackReceiver(
        lambda body, at: arrived.setdefault(body["trigger"]["properties"]["n"], at)
    )
    with throwaway_database(backend) as database:
        flow = {
            "name": "latency",
            "trigger": {"event": "Checkout Started", "reentry": "always"},
            "nodes": [{"id": "notify", "action": "webhook", "with": {"url": receiver.url}}],
        }
        path = database.workdir / "flow.yaml"
        path.write_text(yaml.safe_dump(flow))
        nerve_cli(database, "db", "upgrade")
        write_key = orjson.loads(
            nerve_cli(database, "sources", "create", "web", "--kind", "web", "--json")
        )["write_key"]
        nerve_cli(database, "flows", "apply", str(path), "--env", "production")
        with running_server(database, 1) as server, httpx.Client(auth=(write_key, "")) as client:
            sent: dict[str, float] = {}
            acked: list[float] = []
            for n in range(events):
                key = str(n)
                message = {"userId": f"u{n}", "event": "Checkout Started", "properties": {"n": key}}
                sent[key] = time.monotonic()
                client.post(f"{server.base_url}/v1/track", json=message).raise_for_status()
                acked.append((time.monotonic() - sent[key]) * 1000)
                time.sleep(max(0.0, sent[key] + 1 / rate - time.monotonic()))
            deadline = time.monotonic() + 30
            while len(arrived) < events and time.monotonic() < deadline:
                time.sleep(0.05)
            stages = _stage_means(client.get(f"{server.base_url}/metrics").text)
    receiver.close()
    latencies = [(arrived[k] - sent[k]) * 1000 for k in sent if k in arrived]
    return {
        "backend": backend, "events": events, "rate": rate, "delivered": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p90_ms": round(_percentile(latencies, 0.9), 1),
        "p99_ms": round(_percentile(latencies, 0.99), 1), "max_ms": round(max(latencies), 1),
        "ack_p50_ms": round(statistics.median(acked), 1),
        "ack_p99_ms": round(_percentile(acked, 0.99), 1),
        "stage_means_ms": stages,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0, help="events per second")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        console.print(measure(backend, args.events, args.rate))


if __name__ == "__main__":
    main()
