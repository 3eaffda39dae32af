"""Email send throughput: personalised marketing mails rendered and delivered to a local SMTP
sink with consent, suppression and the message log on, beside a bare aiosmtplib loop sending the
same pre-rendered messages over one reused connection in the same run.

    .venv/bin/python bench/email_send.py                       # SQLite in a temp dir, 2,000 mails
    .venv/bin/python bench/email_send.py --url postgresql+psycopg://postgres@127.0.0.1/x

The sink is aiosmtpd's Sink handler in a process of its own. Nerve's path is EmailService.send
(what the send_email action and POST /api/v1/messages call), from `--threads` threads as the flow
worker's sender pool does: read the template version and the person, check erasure, suppression
and consent, write the log row, render, build MIME, DKIM-sign when a key exists (none here),
SMTP over the pooled connections, mark sent.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import aiosmtplib
import sink_process
from identity_store import Inserter, prepare

from nerve.channels import templates
from nerve.channels.email import EmailRequest, EmailService
from nerve.channels.smtp import Mailbox, SmtpSender, parse_url
from nerve.consent import service as consent
from nerve.consent import topics
from nerve.db.engine import make_engine, write_transaction
from nerve.identity.resolver import resolve_pending
from nerve.pipeline import CONSUMERS
from nerve.profiles.view import person_of_profile  # noqa: F401  (what the send reads)
from nerve.settings import Settings

TEMPLATE = {
    "name": "weekly",
    "subject": "{{ person.traits.first_name | default: 'Hello' }}, this week's running picks",
    "preheader": "New in: trail shoes",
    "html": "<html><head><style>p { color: #222 } .p { padding: 4px }</style></head><body>"
    "<p>Hello {{ person.traits.first_name | default: 'there' }},</p>"
    "{% for p in products %}<div class='p'><a href='{{ p.url }}'>{{ p.name }}</a> "
    "{{ p.price }} {{ p.currency }}</div>{% endfor %}"
    "<p><a href='{{ message.unsubscribe_url }}'>Unsubscribe</a> {{ shop.imprint }}</p>"
    "</body></html>",
}


def _sink(port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
               "-c", "aiosmtpd.handlers.Sink"]  # fmt: skip
    return sink_process.start(command, port, "SMTP sink", quiet=True)


def _people(engine, shop, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC).isoformat()
    messages = [
        ({"type": "identify", "userId": f"u{n}", "messageId": f"m{n}", "timestamp": now,
          "traits": {"email": f"runner{n}@example.com", "first_name": f"Runner{n}"}}, "web")
        for n in range(count)
    ]  # fmt: skip
    Inserter(engine, shop).insert(messages)
    profiles = []
    while events := resolve_pending(engine, CONSUMERS, 1000):
        profiles += [event.id for event in events]
    with write_transaction(engine) as conn:
        weekly = topics.Topic("email", "weekly", "Weekly picks")
        topics.put(conn, shop.workspace_id, weekly, actor="bench")
        for n in range(count):
            consent.sign_up(conn, shop.workspace_id, consent.SignUp(
                email=f"runner{n}@example.com", topic="weekly", via="import",
                double_opt_in=False, consent_text="Weekly picks"))  # fmt: skip
        templates.save(conn, shop.workspace_id, TEMPLATE, actor="bench")
        rows = conn.exec_driver_sql("SELECT id FROM profiles ORDER BY id").all()
    return [row[0] for row in rows]


async def _bare(port: int, raws: list[bytes]) -> float:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
    await client.connect()
    started = time.perf_counter()
    for raw in raws:
        await client.sendmail("hi@shop.example", ["runner@example.com"], raw)
    seconds = time.perf_counter() - started
    await client.quit()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", help="database URL (default: SQLite in a temp dir)")
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{tempfile.mkdtemp(prefix='nerve-email-')}/e.db"
    engine = make_engine(Settings(database_url=url))
    shop = prepare(engine)
    port = sink_process.free_port()
    sink = _sink(port)
    try:
        profiles = _people(engine, shop, args.mails)
        transport = SmtpSender(parse_url(f"smtp://127.0.0.1:{port}"), args.connections)
        service = EmailService(engine, "Shop <hi@shop.example>", transport,
                               {"name": "Shop", "imprint": "Shop GmbH, Berlin"})  # fmt: skip
        requests = [
            EmailRequest(workspace_id=shop.workspace_id, profile_id=profile, template="weekly",
                         idempotency_key=f"bench:{n}", topic="weekly")
            for n, profile in enumerate(profiles)
        ]  # fmt: skip
        started = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            outcomes = list(pool.map(service.send, requests))
        nerve_seconds = time.perf_counter() - started
        transport.close()
        sent = sum(1 for o in outcomes if o.status == "sent")
        mailbox = Mailbox()  # the same messages, rendered by Nerve, for the bare loop
        rendering = EmailService(engine, "Shop <hi@shop.example>", mailbox,
                                 {"name": "Shop", "imprint": "Shop GmbH, Berlin"})  # fmt: skip
        for n, request in enumerate(requests[:200]):
            rendering.send(EmailRequest(**{**vars(request), "idempotency_key": f"cap:{n}"}))
        raws = [mailbox.raw[n % len(mailbox.raw)] for n in range(len(requests))]
        bare_seconds = asyncio.run(_bare(port, raws))
    finally:
        sink.terminate()
        sink.wait(10)
    nerve_rate, bare_rate = sent / nerve_seconds, len(raws) / bare_seconds
    print(f"database: {engine.url.render_as_string()}")
    print(
        f"nerve:  {sent:,} of {len(requests):,} sent in {nerve_seconds:.2f} s = "
        f"{nerve_rate:,.0f} mails/s ({args.threads} threads, {args.connections} connections)"
    )
    print(
        f"bare:   {len(raws):,} pre-rendered in {bare_seconds:.2f} s = {bare_rate:,.0f} mails/s "
        "(aiosmtplib, one connection)"
    )
    print(f"ratio:  {nerve_rate / bare_rate:.2f} of the bare loop")  # fmt: skip


if __name__ == "__main__":
    main()
