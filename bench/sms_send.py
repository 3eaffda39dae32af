"""SMS send throughput: personalised marketing SMS through Nerve's SMS channel to a Twilio-shaped
sink on loopback, with consent, suppression, erasure, the fatigue cap and quiet hours checked and
the message log written, beside the bare provider call (the same Twilio request over the same
pooled HTTP client, pre-rendered) in the same run.

    .venv/bin/python bench/sms_send.py                       # SQLite in a temp dir, 2,000 SMS
    .venv/bin/python bench/sms_send.py --url postgresql+psycopg://postgres@127.0.0.1/x

The sink answers every request 201 with a JSON `sid`, as Twilio does, in a process of its own
(so it does not take the benchmark's interpreter). Nerve's path is `Delivery.send` (what a
`send_sms` step calls), from `--threads` threads as the flow worker's sender pool does: read the
person, the template version and the auth token (decrypted), render, count segments, check
erasure, opt-outs, suppression and consent, decide the fatigue cap and quiet hours in the
transaction that logs the send, POST to the provider, mark sent with the provider's sid, and
put "SMS Sent" on the person's timeline.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import sink_process
from identity_store import Inserter, prepare

from nerve.channels import templates
from nerve.channels.delivery import ChannelRequest, Delivery
from nerve.channels.sms.channel import AUTH_TOKEN, SmsChannel
from nerve.channels.sms.provider import Account, SmsMessage, TwilioProvider
from nerve.channels.timing import policy
from nerve.consent import service as consent
from nerve.consent import topics
from nerve.db.engine import make_engine, write_transaction
from nerve.identity.resolver import resolve_pending
from nerve.outbound.policy import OutboundPolicy
from nerve.pipeline import CONSUMERS
from nerve.secrets import service as secrets
from nerve.secrets.vault import Vault, new_key
from nerve.settings import Settings
from nerve.workspaces import service as workspaces

ACCOUNT = Account("AC" + "0" * 32, "bench-token", sender="+4930123456")
TEMPLATE = {
    "name": "weekly_sms", "channel": "sms",
    "text": "Hi {{ person.traits.first_name | default: 'there' }}, new trail shoes are in: "
    "{{ shop.url }}/new. Reply STOP to end",
}  # fmt: skip


def _serve_sink(port: int) -> None:
    """The sink process: Twilio's answer to every POST, on a kept-alive connection."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Head and body go out in two writes: with Nagle's algorithm the body waits for the
        # client's delayed ACK of the head, 40 ms a request.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({"sid": "SM" + "1" * 32, "status": "queued"}).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            """Quiet: a line per request would cost more than the request."""

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def _sink(port: int) -> subprocess.Popen[bytes]:
    return sink_process.start([sys.executable, __file__, "--sink", str(port)], port, "SMS sink")


def _people(engine, shop, vault: Vault, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    messages = [
        ({"type": "identify", "userId": f"u{n}", "messageId": f"m{n}", "timestamp": now.isoformat(),
          "traits": {"phone": f"+49151{n:08d}", "first_name": f"Runner{n}"}}, "web")
        for n in range(count)
    ]  # fmt: skip
    Inserter(engine, shop).insert(messages)
    while resolve_pending(engine, CONSUMERS, 1000):
        pass
    # The checks on: a cap no one reaches here, quiet hours that are not now.
    quiet = policy.QuietHours(start=f"{(now.hour + 2) % 24:02d}:00",
                              end=f"{(now.hour + 3) % 24:02d}:00")  # fmt: skip
    rules = policy.DeliveryPolicy(fatigue=policy.Fatigue(limit=1000, window="7d"),
                                  quiet_hours=quiet)  # fmt: skip
    with write_transaction(engine) as conn:
        policy.save(conn, shop.workspace_id, rules, actor="bench")
        topic = topics.Topic("sms", "weekly", "Weekly picks by SMS")
        topics.put(conn, shop.workspace_id, topic, actor="bench")
        for n in range(count):
            consent.sign_up(conn, shop.workspace_id, consent.SignUp(
                email="", phone=f"+49151{n:08d}", channel="sms", topic="weekly", via="import",
                double_opt_in=False, consent_text="Weekly picks by SMS"))  # fmt: skip
        templates.save(conn, shop.workspace_id, TEMPLATE, actor="bench")
        secrets.put(conn, vault, shop.workspace_id, AUTH_TOKEN, ACCOUNT.auth_token, actor="bench")
        # Made here: the first sends would each try to make it inside their read transaction.
        workspaces.hash_key(conn, shop.workspace_id)
        rows = conn.exec_driver_sql("SELECT id FROM profiles ORDER BY id").all()
    return [row[0] for row in rows]


def _bare(provider: TwilioProvider, threads: int, count: int) -> float:
    body = "Hi Runner1, new trail shoes are in: https://shop.example/new. Reply STOP to end"
    sms = [SmsMessage(f"+49151{n:08d}", body, f"sms-{n}", f"bare:{n}") for n in range(count)]
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda message: provider.send(ACCOUNT, message), sms))
    return time.perf_counter() - started


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
    url = args.url or f"sqlite:///{tempfile.mkdtemp(prefix='nerve-sms-')}/s.db"
    engine = make_engine(Settings(database_url=url))
    shop, vault = prepare(engine), Vault(new_key())
    port = sink_process.free_port()
    sink = _sink(port)
    try:
        profiles = _people(engine, shop, vault, args.messages)
        loopback = OutboundPolicy.allowing(["127.0.0.1/32"])
        provider = TwilioProvider(f"http://127.0.0.1:{port}", loopback)
        shop_info = {"name": "Shop", "url": "https://shop.example"}
        delivery = Delivery(engine, SmsChannel(engine, vault, provider, ACCOUNT, shop=shop_info))
        requests = [
            ChannelRequest(workspace_id=shop.workspace_id, channel="sms", profile_id=profile,
                           idempotency_key=f"bench:{n}", topic="weekly", template="weekly_sms",
                           flow="weekly_sms", node="send")
            for n, profile in enumerate(profiles)
        ]  # fmt: skip
        started = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            outcomes = list(pool.map(delivery.send, requests))
        nerve_seconds = time.perf_counter() - started
        sent = sum(1 for o in outcomes if o.status == "sent")
        reasons = {o.reason for o in outcomes if o.status != "sent"}
        bare_seconds = _bare(provider, args.threads, len(requests))
        provider.close()
    finally:
        sink.terminate()
        sink.wait(10)
    nerve_rate, bare_rate = sent / nerve_seconds, len(requests) / bare_seconds
    print(f"database: {engine.url.render_as_string()}")
    print(f"nerve:  {sent:,} of {len(requests):,} sent in {nerve_seconds:.2f} s = "
          f"{nerve_rate:,.0f} SMS/s ({args.threads} threads)"
          + (f"; not sent: {sorted(map(str, reasons))[:3]}" if reasons else ""))  # fmt: skip
    print(f"bare:   {len(requests):,} pre-rendered in {bare_seconds:.2f} s = {bare_rate:,.0f} "
          f"SMS/s (the Twilio request alone, same client and threads)")  # fmt: skip
    print(f"ratio:  {nerve_rate / bare_rate:.2f} of the bare loop")


if __name__ == "__main__":
    main()
