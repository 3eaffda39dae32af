"""Webhook send throughput: flow webhook steps to a signed endpoint on loopback through Nerve's
webhook sender, with the message log on, beside a bare httpx POST loop sending the same bytes
to the same sink in the same run.

    .venv/bin/python bench/webhook_send.py                     # SQLite in a temp dir, 2,000 steps
    .venv/bin/python bench/webhook_send.py --url postgresql+psycopg://postgres@127.0.0.1/x

The sink answers every POST 200 on a kept-alive connection, in a process of its own. Nerve's
path is `WebhookSender` (what the flow worker calls for a `webhook` step), from `--threads`
threads as the worker's sender pool does, twice:
- `envelope`: Nerve's JSON (flow, run, trigger, the node's body, the person as the executor read
  them) — read the endpoint and decrypt its signing secret, sign (Standard Webhooks), POST
  under the outbound policy, write the message-log row;
- `mapped`: a CRM mapping as the whole body (`envelope: false`, eight Liquid fields over the
  person and the order, two templated headers) — the same, plus reading the person and
  rendering.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import sink_process
from identity_store import Inserter, prepare

from nerve.db.engine import make_engine, write_transaction
from nerve.flows.calls import ActionCall
from nerve.flows.webhook import WebhookSender
from nerve.identity.resolver import resolve_pending
from nerve.outbound.policy import OutboundPolicy
from nerve.pipeline import CONSUMERS
from nerve.secrets.vault import Vault, new_key
from nerve.settings import Settings
from nerve.webhooks import service as endpoints
from nerve.webhooks import signing

ORDER = {"order_id": "S-1001", "total": 129.9, "currency": "EUR",
         "products": [{"product_id": "RUN-42", "price": 119.9, "quantity": 1}]}  # fmt: skip
MAPPED = {
    "endpoint": "crm", "envelope": False,
    "body": {
        "upsertKey": {"email": "{{ person.email }}", "shopId": "shop-de"},
        "contact": {"firstName": "{{ person.traits.first_name }}",
                    "lastName": "{{ person.traits.last_name }}",
                    "orders": "{{ person.computed.order_count }}",
                    "greeting": "Hi {{ person.traits.first_name | default: 'there' }}"},
        "lastOrder": {"id": "{{ order.order_id }}", "total": "{{ order.total }}",
                      "items": "{{ order.products.size }}"},
    },
    "headers": {"X-Shop-Id": "shop-de", "X-Customer": "{{ person.user_id }}"},
}  # fmt: skip
ENVELOPE = {"endpoint": "crm", "body": {"list": "vip", "step": 1}}


def _serve_sink(port: int) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            """Quiet: a line per request would cost more than the request."""

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def _sink(port: int) -> subprocess.Popen[bytes]:
    return sink_process.start([sys.executable, __file__, "--sink", str(port)], port, "webhook sink")


def _people(engine, shop, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC).isoformat()
    messages = [
        ({"type": "identify", "userId": f"u{n}", "messageId": f"m{n}", "timestamp": now,
          "traits": {"email": f"runner{n}@example.com", "first_name": f"Runner{n}",
                     "last_name": "Berg"}}, "web")
        for n in range(count)
    ]  # fmt: skip
    Inserter(engine, shop).insert(messages)
    while resolve_pending(engine, CONSUMERS, 1000):
        pass
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT id FROM profiles ORDER BY id").all()
    return [row[0] for row in rows]


def _calls(workspace_id: str, profiles: list[str], params: dict[str, Any], tag: str) -> list[Any]:
    trigger = {"type": "track", "event": "Order Completed", "properties": ORDER}
    person = {"identifiers": [{"type": "email", "value": "runner@example.com"}],
              "traits": {"first_name": "Runner"}}  # fmt: skip
    return [
        ActionCall(workspace_id=workspace_id, run_id=f"run_{tag}{n}", flow="sync_crm",
                   node="to_crm", profile_id=profile, idempotency_key=f"{tag}:{n}",
                   params=params, trigger=trigger, timeout=10, environment="production",
                   person=None if params.get("envelope") is False else person)
        for n, profile in enumerate(profiles)
    ]  # fmt: skip


def _timed(threads: int, send: Any, calls: list[Any]) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, calls))
    return time.perf_counter() - started


def _bare(url: str, secret: str, threads: int, count: int) -> float:
    """The same kind of request — its bytes signed beforehand — POSTed with httpx alone."""
    content = b'{"upsertKey":{"email":"runner1@example.com","shopId":"shop-de"},"n":1}'
    timestamp = str(int(time.time()))
    headers = {"content-type": "application/json", "webhook-id": "k", "webhook-timestamp":
               timestamp, "webhook-signature": signing.signature([secret], "k", timestamp,
                                                                content)}  # fmt: skip
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)
    with httpx.Client(limits=limits) as client:
        return _timed(threads, lambda _: client.post(url, content=content, headers=headers),
                      list(range(count)))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", help="database URL (default: SQLite in a temp dir)")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)  # run as the sink
    args = parser.parse_args()
    if args.sink:
        _serve_sink(args.sink)
        return
    url = args.url or f"sqlite:///{tempfile.mkdtemp(prefix='nerve-webhook-')}/w.db"
    engine = make_engine(Settings(database_url=url))
    shop, vault = prepare(engine), Vault(new_key())
    port = sink_process.free_port()
    sink, address = _sink(port), f"http://127.0.0.1:{port}/crm"
    loopback = OutboundPolicy.allowing(["127.0.0.1/32"])
    try:
        profiles = _people(engine, shop, args.messages)
        with write_transaction(engine) as conn:
            made = endpoints.create(conn, vault, loopback, shop.workspace_id, "crm", address,
                                    actor="bench")  # fmt: skip
        sender = WebhookSender(loopback, endpoints.Endpoints(engine, vault))
        sender(_calls(shop.workspace_id, profiles[:1], ENVELOPE, "warm")[0])
        seconds = {
            mode: _timed(args.threads, sender, _calls(shop.workspace_id, profiles, params, mode))
            for mode, params in (("envelope", ENVELOPE), ("mapped", MAPPED))
        }
        sender.close()
        bare_seconds = _bare(address, made.secret, args.threads, len(profiles))
    finally:
        sink.terminate()
        sink.wait(10)
    count, bare_rate = len(profiles), len(profiles) / bare_seconds
    with engine.connect() as conn:
        logged = conn.exec_driver_sql(
            "SELECT count(*) FROM messages WHERE channel = 'webhook' AND status = 'sent'"
        ).scalar()
    print(f"database: {engine.url.render_as_string()}")
    for mode, spent in seconds.items():
        rate = count / spent
        print(f"nerve {mode}: {count:,} in {spent:.2f} s = {rate:,.0f} webhooks/s "
              f"({args.threads} threads) = {rate / bare_rate:.2f} of the bare loop")  # fmt: skip
    print(f"bare:   {count:,} pre-signed in {bare_seconds:.2f} s = {bare_rate:,.0f} posts/s "
          f"(httpx POST alone, same sink and threads)")  # fmt: skip
    print(f"logged: {logged:,} webhook rows sent in the message log")


if __name__ == "__main__":
    main()
