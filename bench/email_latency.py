"""Transactional email latency: from a shop's `POST /api/v1/messages` to the SMTP server having
the message, through a real `nerve serve`; beside it, in the same run, a bare aiosmtplib send of
the same message over one open connection.

    .venv/bin/python bench/email_latency.py                   # SQLite, 300 messages
    .venv/bin/python bench/email_latency.py --backend postgresql --messages 500

The SMTP server (aiosmtpd) runs in this process and notes when each message's DATA arrives,
keyed by its Message-ID; requests go one at a time (an order confirmation each), so the figure
is the latency a shop sees, not throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from email.parser import BytesHeaderParser
from typing import Any

import aiosmtplib
import httpx
from aiosmtpd.controller import Controller
from pipeline_processes import _NERVE, _environment, _stop
from tracking_server import Database, throwaway_database

TEMPLATE = {
    "name": "order_confirmation",
    "subject": "Your order {{ order.order_id }}",
    "html": "<html><body><p>Thank you, {{ person.traits.first_name | default: 'there' }}!</p>"
    "<p>Order {{ order.order_id }}: {{ order.total }} {{ order.currency }}</p>"
    "{% for p in products %}<p><a href='{{ p.url }}'>{{ p.name }}</a></p>{% endfor %}"
    "</body></html>",
}


class _Arrivals:
    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.changed = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        headers = BytesHeaderParser().parsebytes(envelope.content)
        with self.changed:
            self.at[str(headers["Message-ID"])] = time.perf_counter()
            self.changed.notify_all()
        return "250 OK"

    def wait_for(self, message_id: str, timeout: float = 30) -> float:
        with self.changed:
            if not self.changed.wait_for(lambda: message_id in self.at, timeout):
                raise SystemExit(f"{message_id} never arrived")
            return self.at[message_id]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _server(database: Database, smtp_port: int) -> Iterator[str]:
    port = _free_port()
    env = _environment(database, smtp_url=f"smtp://127.0.0.1:{smtp_port}",
                       email_from="Shop <orders@shop.example>")  # fmt: skip
    log = (database.workdir / "server.log").open("wb")
    process = subprocess.Popen([_NERVE, "serve", "--host", "127.0.0.1", "--port", str(port)],
                               env=env, cwd=database.workdir, stdout=log, stderr=log)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit((database.workdir / "server.log").read_text())
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        yield base
    finally:
        _stop([process])
        log.close()


def _admin_key(database: Database) -> str:
    done = subprocess.run([_NERVE, "keys", "create", "--role", "admin", "--json"],
                          env=_environment(database), cwd=database.workdir, check=True,
                          capture_output=True, text=True)  # fmt: skip
    return str(json.loads(done.stdout)["secret_key"])


def _percentiles(seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"p50 {statistics.median(ms):6.1f} ms  p99 {p99:6.1f} ms  max {ms[-1]:6.1f} ms"


def _nerve(base: str, key: str, arrivals: _Arrivals, count: int) -> list[float]:
    headers = {"Authorization": f"Bearer {key}"}
    latencies = []
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        client.post("/api/v1/templates", json=TEMPLATE).raise_for_status()
        for n in range(count + 20):  # the first 20 warm the server up
            order = {"order_id": f"S-{n}", "total": "59.90", "currency": "EUR"}
            products = [{"name": "Trail Runner 2", "url": "https://shop.example/p/42"}]
            started = time.perf_counter()
            answer = client.post(
                "/api/v1/messages", headers={"Idempotency-Key": f"order-{n}"},
                json={"to": {"email": f"buyer{n}@example.com"}, "template": TEMPLATE["name"],
                      "context": {"order": order, "products": products}},
            )  # fmt: skip
            answer.raise_for_status()
            arrived = arrivals.wait_for(answer.json()["message_id"])
            if n >= 20:
                latencies.append(arrived - started)
    return latencies


async def _bare(port: int, arrivals: _Arrivals, count: int) -> list[float]:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
    await client.connect()
    latencies = []
    for n in range(count):
        message_id = f"<bare-{n}@shop.example>"
        raw = (f"From: orders@shop.example\r\nTo: buyer{n}@example.com\r\nSubject: Your order"
               f"\r\nMessage-ID: {message_id}\r\n\r\nThank you!\r\n").encode()  # fmt: skip
        started = time.perf_counter()
        await client.sendmail("orders@shop.example", [f"buyer{n}@example.com"], raw)
        latencies.append(arrivals.at[message_id] - started)
    await client.quit()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args()
    arrivals = _Arrivals()
    smtp_port = _free_port()
    controller = Controller(arrivals, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        with throwaway_database(args.backend) as database:
            subprocess.run([_NERVE, "db", "upgrade"], env=_environment(database),
                           cwd=database.workdir, check=True, capture_output=True)  # fmt: skip
            key = _admin_key(database)
            with _server(database, smtp_port) as base:
                nerve = _nerve(base, key, arrivals, args.messages)
        bare = asyncio.run(_bare(smtp_port, arrivals, args.messages))
    finally:
        controller.stop()
    print(f"database: {args.backend}, {args.messages} transactional messages one at a time")
    print(f"nerve: POST /api/v1/messages → SMTP server has it: {_percentiles(nerve)}")
    print(f"bare:  aiosmtplib sendmail → SMTP server has it:   {_percentiles(bare)}")
    ratio = statistics.median(nerve) / statistics.median(bare)
    print(f"ratio (p50): {ratio:.1f} times the bare send")


if __name__ == "__main__":
    main()
