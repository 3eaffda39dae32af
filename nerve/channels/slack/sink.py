"""A Slack-shaped receiver on loopback for tests, benchmarks and the demo: it takes incoming-
webhook posts as Slack does — `200 ok` — keeps what arrived, and can answer as Slack does when
something is wrong (`429` with Retry-After, `404 no_service`, `400 invalid_blocks`).

    sink = SlackSink()                 # http://127.0.0.1:PORT/services/T…/B…/TOKEN
    sink.answers.append((429, "rate_limited"))
    ...
    sink.posts[0].payload["blocks"]
    sink.close()
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


@dataclass(frozen=True)
class Post:
    path: str
    headers: dict[str, str]
    payload: dict[str, Any]


@dataclass
class SlackSink:
    # Answer these (status, text) first, one per post; then `200 ok`.
    answers: list[tuple[int, str]] = field(default_factory=list)
    retry_after: int = 1  # seconds, with a 429
    posts: list[Post] = field(default_factory=list)  # the posts answered 200, in order
    attempts: int = 0  # every post, however answered
    on_post: Callable[[Post], None] | None = None  # called for each post answered 200

    def __post_init__(self) -> None:
        sink, lock = self, threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Slack's servers

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    sink.attempts += 1
                    status, text = sink.answers.pop(0) if sink.answers else (200, "ok")
                    post = None
                    if status == 200:
                        post = Post(self.path, dict(self.headers), orjson.loads(raw))
                        sink.posts.append(post)
                if post is not None and sink.on_post is not None:
                    sink.on_post(post)
                with contextlib.suppress(OSError):  # the caller may have hung up
                    self._answer(status, text.encode())

            def _answer(self, status: int, content: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/html")  # as Slack labels its `ok`
                self.send_header("Content-Length", str(len(content)))
                if status == 429:
                    self.send_header("Retry-After", str(sink.retry_after))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args: Any) -> None:
                """Quiet: whoever uses the sink reads what arrived."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, channel: str = "B0ALERTS") -> str:
        """An incoming-webhook URL on the sink, shaped like Slack's (a fresh token each)."""
        return f"http://127.0.0.1:{self.port}/services/T0SHOP/{channel}/{secrets.token_hex(12)}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
