"""Slack send throughput: team alerts rendered from a slack template (text and Block Kit blocks)
and posted through Nerve's Slack channel to a Slack-shaped sink on loopback, with the checks
every channel shares and the message log on, beside a bare httpx POST loop sending the same
pre-rendered message to the same sink in the same run.

    .venv/bin/python bench/slack_send.py                       # SQLite in a temp dir, 2,000 alerts
    .venv/bin/python bench/slack_send.py --url postgresql+psycopg://postgres@127.0.0.1/x

The sink is nerve.channels.slack.sink.SlackSink (`200 ok`, kept-alive) in a process of its own.
Nerve's path is `Delivery.send` (what a `slack` step calls), from `--threads` threads as the flow
worker's sender pool does: read the person and an earlier attempt, the destination's URL
(decrypted from the secret `slack.<name>`) and the template version; render the text and each
string of the blocks; check erasure and opt-outs; log the row (timing decides in the same
transaction: a team alert is exempt from the cap and quiet hours); POST under the outbound
policy; mark the row sent and put "Slack Sent" on the person's timeline.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import orjson
from identity_store import Inserter, prepare

from nerve.channels import templates
from nerve.channels.delivery import ChannelRequest, Delivery
from nerve.channels.slack import destinations
from nerve.channels.slack.channel import SlackChannel
from nerve.db.engine import make_engine, write_transaction
from nerve.identity.resolver import resolve_pending
from nerve.outbound.policy import OutboundPolicy
from nerve.pipeline import CONSUMERS
from nerve.secrets.vault import Vault, new_key
from nerve.settings import Settings

TEMPLATE = {
    "name": "low_stock", "channel": "slack",
    "text": "Low stock: {{ event.properties.name }} ({{ event.properties.sku }})",
    "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "Low stock"}},
        {"type": "section", "text": {"type": "mrkdwn", "text":
            "*{{ event.properties.name }}* is down to "
            "{{ event.properties.stock | default: 0 }}; last asked for by "
            "{{ person.traits.first_name | default: 'someone' }}"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "{{ shop.name }}"}]},
    ],
}  # fmt: skip


def _serve_sink() -> None:
    """The sink process: prints its webhook URL, then answers until it is stopped."""
    from nerve.channels.slack.sink import SlackSink

    sink = SlackSink()
    print(sink.url(), flush=True)
    while True:
        time.sleep(3600)


def _sink() -> tuple[subprocess.Popen[str], str]:
    sink = subprocess.Popen([sys.executable, __file__, "--sink"], stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    assert sink.stdout is not None
    return sink, sink.stdout.readline().strip()


def _people(engine, shop, vault: Vault, count: int, url: str) -> list[str]:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC).isoformat()
    messages = [
        ({"type": "identify", "userId": f"u{n}", "messageId": f"m{n}", "timestamp": now,
          "traits": {"first_name": f"Runner{n}"}}, "web")
        for n in range(count)
    ]  # fmt: skip
    Inserter(engine, shop).insert(messages)
    while resolve_pending(engine, CONSUMERS, 1000):
        pass
    loopback = OutboundPolicy.allowing(["127.0.0.1/32"])
    with write_transaction(engine) as conn:
        templates.save(conn, shop.workspace_id, TEMPLATE, actor="bench")
        destinations.put(conn, vault, loopback, shop.workspace_id, "team-alerts", url,
                         actor="bench")  # fmt: skip
        rows = conn.exec_driver_sql("SELECT id FROM profiles ORDER BY id").all()
    return [row[0] for row in rows]


def _bare(url: str, threads: int, count: int) -> float:
    payload = orjson.dumps({
        "text": 'Low stock: Trail "Pro" 2 (RUN-42)',
        "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "Low stock"}},
                   {"type": "section", "text": {"type": "mrkdwn", "text":
                    "*Trail Pro 2* is down to 3; last asked for by Runner1"}}],
    })  # fmt: skip
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=8)
    with httpx.Client(limits=limits) as client:
        headers = {"content-type": "application/json"}
        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda _: client.post(url, content=payload, headers=headers),
                          range(count)))  # fmt: skip
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", help="database URL (default: SQLite in a temp dir)")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--sink", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        _serve_sink()
        return
    url = args.url or f"sqlite:///{tempfile.mkdtemp(prefix='nerve-slack-')}/s.db"
    engine = make_engine(Settings(database_url=url))
    shop, vault = prepare(engine), Vault(new_key())
    sink, webhook_url = _sink()
    try:
        profiles = _people(engine, shop, vault, args.messages, webhook_url)
        loopback = OutboundPolicy.allowing(["127.0.0.1/32"])
        delivery = Delivery(engine, SlackChannel(vault, loopback, {"name": "Example Shop"}))
        event = {"event": "Stock Low", "properties": {"sku": "RUN-42", "name": 'Trail "Pro" 2',
                                                      "stock": 3}}  # fmt: skip
        requests = [
            ChannelRequest(workspace_id=shop.workspace_id, channel="slack", profile_id=profile,
                           idempotency_key=f"bench:{n}", kind="transactional",
                           template="low_stock", context={"event": event}, flow="low_stock",
                           node="tell_team", params={"destination": "team-alerts"})
            for n, profile in enumerate(profiles)
        ]  # fmt: skip
        # One send first, alone: it makes the workspace's "Nerve slack" event source.
        outcomes = [delivery.send(requests[0])]
        started = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            outcomes += pool.map(delivery.send, requests[1:])
        nerve_seconds = time.perf_counter() - started
        delivery.close()
        sent = sum(1 for o in outcomes if o.status == "sent")
        reasons = {o.reason for o in outcomes if o.status != "sent"}
        bare_seconds = _bare(webhook_url, args.threads, len(requests))
    finally:
        sink.terminate()
        sink.wait(10)
    nerve_rate, bare_rate = (sent - 1) / nerve_seconds, len(requests) / bare_seconds
    print(f"database: {engine.url.render_as_string()}")
    print(f"nerve:  {sent:,} of {len(requests):,} sent in {nerve_seconds:.2f} s = "
          f"{nerve_rate:,.0f} alerts/s ({args.threads} threads)"
          + (f"; not sent: {sorted(map(str, reasons))[:3]}" if reasons else ""))  # fmt: skip
    print(f"bare:   {len(requests):,} pre-rendered in {bare_seconds:.2f} s = {bare_rate:,.0f} "
          f"posts/s (httpx POST alone, same sink and threads)")  # fmt: skip
    print(f"ratio:  {nerve_rate / bare_rate:.2f} of the bare loop")


if __name__ == "__main__":
    main()
