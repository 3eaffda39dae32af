"""A real HTTP receiver on loopback that records webhook deliveries (and can fail on purpose)."""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes = b""  # the body's bytes as they came (what a signature is over)


@dataclass
class Receiver:
    fail_with: int | None = None  # answer this status instead of 200 while set
    deliveries: list[Delivery] = field(default_factory=list)  # the requests answered 200
    requests: list[Delivery] = field(default_factory=list)  # every request, however answered
    attempts: int = 0
    answers: list[int] = field(default_factory=list)  # answer these first, one per request
    delay: float = 0.0  # a slow receiver: seconds before it answers
    trickle: bool = False  # with `delay`: headers at once, then the body a byte at a time
    arrivals: list[float] = field(default_factory=list)  # time.monotonic() of each request
    refusal: bytes = b""  # the body of a non-200 answer (a service echoing what it refused)
    location: str | None = None  # the Location header of a non-200 answer (a redirect)
    tls: ssl.SSLContext | None = None  # HTTPS with this server context

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                body = orjson.loads(raw)
                receiver.arrivals.append(time.monotonic())
                receiver.attempts += 1
                status = receiver.answers.pop(0) if receiver.answers else receiver.fail_with
                status = status or 200
                request = Delivery(self.path, dict(self.headers), body, raw)
                receiver.requests.append(request)
                if status == 200:
                    receiver.deliveries.append(request)
                # A slow answer: the caller may have given up waiting and hung up.
                with contextlib.suppress(OSError):
                    self._answer(status)

            def _answer(self, status: int) -> None:
                if not receiver.trickle:
                    time.sleep(receiver.delay)
                content = b"ok" * 5 if receiver.trickle else b""
                if status != 200 and receiver.refusal:
                    content = receiver.refusal
                self.send_response(status)
                if status != 200 and receiver.location is not None:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                for byte in range(len(content)):
                    time.sleep(receiver.delay / len(content))
                    self.wfile.write(content[byte : byte + 1])

            def log_message(self, *args: Any) -> None:
                """Quiet: the test reads what arrived, not the access log."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if self.tls is not None:
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        scheme = "https" if self.tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def unique_ids(self) -> set[str]:
        return {d.headers["webhook-id"] for d in self.deliveries}
