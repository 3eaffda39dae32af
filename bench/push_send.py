"""Push send throughput: personalised marketing pushes through Nerve's push channel to a Web Push
service sink on loopback, with consent, opt-outs, erasure, the fatigue cap and quiet hours
checked and the message log written, beside the bare provider call (the same encryption, VAPID
header and POST over the same pooled client, pre-rendered) in the same run.

    .venv/bin/python bench/push_send.py                       # SQLite in a temp dir, 2,000 pushes
    .venv/bin/python bench/push_send.py --url postgresql+psycopg://postgres@127.0.0.1/x

Each person has one browser subscription with keys of its own (as browsers make them). The sink
answers every request 201 Created, as push services do, in a process of its own; it is plain
HTTP (a real push service is HTTPS: the TLS cost is the same for both paths). Nerve's path is
`Delivery.send` (what a `send_push` step calls), from `--threads` threads as the flow worker's
sender pool does: read the person, the template version, their subscriptions (through every
identifier), the VAPID key (decrypted), and what an earlier attempt reached; render; check
erasure, opt-outs and consent per subscription; decide the fatigue cap and quiet hours in the
transaction that logs the send; encrypt (RFC 8291) and POST; stamp the subscription, mark the
row sent with the service's answer, and put "Push Sent" on the person's timeline.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import sink_process
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from identity_store import Inserter, prepare
from sqlalchemy import insert

from nerve.channels import templates
from nerve.channels.delivery import ChannelRequest, Delivery
from nerve.channels.push import service, vapid
from nerve.channels.push.channel import PushChannel, PushConfig
from nerve.channels.push.models import PushSubscription
from nerve.channels.push.providers import Options, Target
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

TEMPLATE = {
    "name": "coffee_push", "channel": "push",
    "title": "{{ person.traits.first_name | default: 'Hi' }}, your coffee is on us",
    "body": "Show this at the counter today", "url": "{{ shop.url }}/coffee",
}  # fmt: skip


def _serve_sink(port: int) -> None:
    """The sink process: a push service's 201 to every POST, on a kept-alive connection."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            """Quiet: a line per request would cost more than the request."""

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def _sink(port: int) -> subprocess.Popen[bytes]:
    return sink_process.start([sys.executable, __file__, "--sink", str(port)], port, "push sink")


def _keys() -> dict[str, str]:
    """A browser's subscription keys: a P-256 public key and a 16-byte auth secret."""
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {"p256dh": vapid.b64url(point), "auth": vapid.b64url(os.urandom(16))}


def _people(engine, shop, vault: Vault, count: int, sink: str) -> list[str]:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    messages = [
        ({"type": "identify", "userId": f"u{n}", "messageId": f"m{n}", "timestamp": now.isoformat(),
          "traits": {"first_name": f"Runner{n}"}}, "web")
        for n in range(count)
    ]  # fmt: skip
    Inserter(engine, shop).insert(messages)
    while resolve_pending(engine, CONSUMERS, 1000):
        pass
    quiet = policy.QuietHours(start=f"{(now.hour + 2) % 24:02d}:00",
                              end=f"{(now.hour + 3) % 24:02d}:00")  # fmt: skip
    rules = policy.DeliveryPolicy(fatigue=policy.Fatigue(limit=1000, window="7d"),
                                  quiet_hours=quiet)  # fmt: skip
    with write_transaction(engine) as conn:
        policy.save(conn, shop.workspace_id, rules, actor="bench")
        topics.put(conn, shop.workspace_id, topics.Topic("push", "offers", "Offers"), actor="bench")
        for n in range(count):
            endpoint = f"{sink}/push/{n}"
            conn.execute(insert(PushSubscription).values(
                id=f"psub_bench{n}", workspace_id=shop.workspace_id, kind="webpush",
                endpoint=endpoint, endpoint_hash=service.endpoint_hash(endpoint), keys=_keys(),
                identifier_type="user_id", identifier_value=f"u{n}"))  # fmt: skip
            consent.sign_up(conn, shop.workspace_id, consent.SignUp(
                email=consent.push_address("user_id", f"u{n}"), channel="push", topic="offers",
                via="import", double_opt_in=False,
                consent_text="Offers as notifications"))  # fmt: skip
        templates.save(conn, shop.workspace_id, TEMPLATE, actor="bench")
        secrets.put(conn, vault, shop.workspace_id, vapid.SECRET, vapid.generate(), actor="bench")
        workspaces.hash_key(conn, shop.workspace_id)
        rows = conn.exec_driver_sql("SELECT id FROM profiles ORDER BY id").all()
    return [row[0] for row in rows]


def _bare(channel: PushChannel, signer: vapid.Signer, sink: str, threads: int, count: int) -> float:
    payload = {"title": "Runner1, your coffee is on us", "body": "Show this at the counter today",
               "url": "https://shop.example/coffee", "message_id": "push-0"}  # fmt: skip
    targets = [Target(f"t{n}", "webpush", f"{sink}/push/{n}", _keys(), "user_id:u")
               for n in range(count)]  # fmt: skip
    provider = channel.providers["webpush"]
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda t: provider.send(t, payload, Options(), signer), targets))
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
    url = args.url or f"sqlite:///{tempfile.mkdtemp(prefix='nerve-push-')}/p.db"
    engine = make_engine(Settings(database_url=url))
    shop, vault = prepare(engine), Vault(new_key())
    port = sink_process.free_port()
    sink, address = _sink(port), f"http://127.0.0.1:{port}"
    try:
        profiles = _people(engine, shop, vault, args.messages, address)
        loopback = OutboundPolicy.allowing(["127.0.0.1/32"])
        config = PushConfig("mailto:bench@shop.example",
                            shop={"name": "Shop", "url": "https://shop.example"})  # fmt: skip
        channel = PushChannel(engine, vault, loopback, config)
        delivery = Delivery(engine, channel)
        requests = [
            ChannelRequest(workspace_id=shop.workspace_id, channel="push", profile_id=profile,
                           idempotency_key=f"bench:{n}", topic="offers", template="coffee_push",
                           flow="coffee", node="send")
            for n, profile in enumerate(profiles)
        ]  # fmt: skip
        # One send first, alone: it makes the workspace's "Nerve push" event source.
        outcomes = [delivery.send(requests[0])]
        started = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            outcomes += pool.map(delivery.send, requests[1:])
        nerve_seconds = time.perf_counter() - started
        sent = sum(1 for o in outcomes if o.status == "sent")
        reasons = {o.reason for o in outcomes if o.status != "sent"}
        with engine.connect() as conn:
            key = secrets.reveal(conn, vault, shop.workspace_id, vapid.SECRET)
        signer = vapid.Signer(str(key), config.subject)
        bare_seconds = _bare(channel, signer, address, args.threads, len(requests))
        delivery.close()
    finally:
        sink.terminate()
        sink.wait(10)
    nerve_rate, bare_rate = (sent - 1) / nerve_seconds, len(requests) / bare_seconds
    print(f"database: {engine.url.render_as_string()}")
    print(f"nerve:  {sent:,} of {len(requests):,} sent in {nerve_seconds:.2f} s = "
          f"{nerve_rate:,.0f} pushes/s ({args.threads} threads)"
          + (f"; not sent: {sorted(map(str, reasons))[:3]}" if reasons else ""))  # fmt: skip
    print(f"bare:   {len(requests):,} pre-rendered in {bare_seconds:.2f} s = {bare_rate:,.0f} "
          f"pushes/s (encrypt + VAPID + POST alone, same client and threads)")  # fmt: skip
    print(f"ratio:  {nerve_rate / bare_rate:.2f} of the bare loop")


if __name__ == "__main__":
    main()
