"""The official Segment and RudderStack Python SDKs talk to a real `nerve serve` unchanged."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from rudderstack.analytics.client import Client as RudderClient
from segment.analytics.client import Client as SegmentClient

from tests.acceptance.conftest import NerveProcess

pytestmark = pytest.mark.slow


def _send_everything(client: Any, run: str) -> set[str]:
    """identify, track, page, screen, group, alias; returns the messageIds sent."""
    ids = {
        name: f"{run}-{name}" for name in ("identify", "track", "page", "screen", "group", "alias")
    }
    client.identify(
        user_id=f"{run}-user", traits={"email": "Anna@Example.com"}, message_id=ids["identify"]
    )
    client.track(
        user_id=f"{run}-user",
        event="Order Completed",
        properties={"order_id": "o-1", "revenue": 89.9, "currency": "EUR"},
        message_id=ids["track"],
    )
    client.page(
        anonymous_id=f"{run}-anon",
        name="Running shoes",
        properties={"url": "/c/running"},
        message_id=ids["page"],
    )
    client.screen(anonymous_id=f"{run}-anon", name="Cart", message_id=ids["screen"])
    client.group(
        user_id=f"{run}-user", group_id="b2b-1", traits={"name": "Club"}, message_id=ids["group"]
    )
    client.alias(previous_id=f"{run}-anon", user_id=f"{run}-user", message_id=ids["alias"])
    for n in range(40):  # enough to span several SDK batches
        client.track(
            anonymous_id=f"{run}-anon",
            event="Product Viewed",
            properties={"position": n},
            message_id=f"{run}-view-{n}",
        )
        ids[f"view-{n}"] = f"{run}-view-{n}"
    client.flush()
    return set(ids.values())


def _setup(nerve: NerveProcess) -> tuple[str, str]:
    write_key = nerve.cli("sources", "create", "backend", "--kind", "server")["write_key"]
    secret_key = nerve.cli("keys", "create", "--role", "admin")["secret_key"]
    return write_key, secret_key


def _assert_exactly_once(
    nerve: NerveProcess, secret_key: str, sent: set[str]
) -> list[dict[str, Any]]:
    events = nerve.events(secret_key)
    ids = [e["messageId"] for e in events]
    assert sorted(ids) == sorted(sent), "every event exactly once"
    return events


def test_segment_sdk(nerve: NerveProcess) -> None:
    nerve.start()
    write_key, secret_key = _setup(nerve)
    errors: list[Exception] = []
    client = SegmentClient(
        write_key,
        host=nerve.url,
        on_error=lambda e, _: errors.append(e),
        upload_size=20,
        max_retries=3,
    )
    sent = _send_everything(client, "seg")
    client.shutdown()
    assert errors == []
    events = _assert_exactly_once(nerve, secret_key, sent)
    track = next(e for e in events if e["type"] == "track" and e["event"] == "Order Completed")
    assert track["properties"]["revenue"] == 89.9
    assert track["context"]["library"]["name"] == "analytics-python"
    assert (
        track["originalTimestamp"]
        and track["sentAt"]
        and track["receivedAt"]
        and track["timestamp"]
    )


def test_rudderstack_sdk_with_gzip(nerve: NerveProcess) -> None:
    nerve.start()
    write_key, secret_key = _setup(nerve)
    errors: list[Exception] = []
    client = RudderClient(
        write_key, host=nerve.url, on_error=lambda e, _: errors.append(e), gzip=True, max_retries=3
    )
    sent = _send_everything(client, "rud")
    client.shutdown()
    assert errors == []
    events = _assert_exactly_once(nerve, secret_key, sent)
    assert {e["type"] for e in events} == {"identify", "track", "page", "screen", "group", "alias"}


class _LossyProxy:
    """Forwards to Nerve, but for the first requests drops Nerve's 200 and answers 503.

    The events were committed, the client never heard it, so the SDK sends them again:
    exactly the situation deduplication exists for.
    """

    def __init__(self, upstream: str, failures: int) -> None:
        self.failures = failures
        self.retry_headers: list[str | None] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "content-length")
                }
                proxy.retry_headers.append(self.headers.get("X-Retry-Count"))
                upstream_response = httpx.post(
                    upstream + self.path, content=body, headers=headers, timeout=30
                )
                status, payload = upstream_response.status_code, upstream_response.content
                if proxy.failures > 0 and status == 200:
                    proxy.failures -= 1
                    status, payload = 503, b'{"error":{"code":"unavailable","message":"lost"}}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                """Quiet: the test reads what arrived, not the access log."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> _LossyProxy:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def started(nerve: NerveProcess) -> Iterator[tuple[NerveProcess, str, str]]:
    nerve.start()
    write_key, secret_key = _setup(nerve)
    yield nerve, write_key, secret_key


@pytest.mark.parametrize("sdk", ["segment", "rudderstack"])
def test_sdk_retries_after_a_lost_answer_store_each_event_once(
    started: tuple[NerveProcess, str, str], sdk: str
) -> None:
    nerve, write_key, secret_key = started
    with _LossyProxy(nerve.url, failures=2) as proxy:
        errors: list[Exception] = []
        cls: Any = SegmentClient if sdk == "segment" else RudderClient
        client = cls(
            write_key, host=proxy.url, on_error=lambda e, _: errors.append(e), max_retries=5
        )
        sent = _send_everything(client, f"retry-{uuid.uuid4().hex[:6]}")
        client.shutdown()
    assert errors == []
    assert len(proxy.retry_headers) >= 3, "the SDK must have resent"
    _assert_exactly_once(nerve, secret_key, sent)
