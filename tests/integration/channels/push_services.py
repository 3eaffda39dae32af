"""A push service on loopback (HTTPS, as RFC 8030 wants, with a test CA) and a browser's side of
a subscription: its P-256 key pair and auth secret, and the decryption of what arrives — what a
real browser and push service do, in the test's process. The same server, over HTTP, plays an
FCM-shaped receiver."""

from __future__ import annotations

import contextlib
import os
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece  # type: ignore[import-untyped]
import orjson
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from nerve.channels.push.vapid import b64url


@dataclass
class Arrival:
    path: str
    headers: dict[str, str]
    body: bytes


Answer = tuple[int, bytes]


@dataclass
class PushService:
    """Records every request; answers each path from `answers[path]` (one status per request,
    then 201), or 201 Created as push services do."""

    tls: ssl.SSLContext | None = None
    answers: dict[str, list[int]] = field(default_factory=dict)
    arrivals: list[Arrival] = field(default_factory=list)
    respond: Callable[[Arrival], Answer] | None = None

    def __post_init__(self) -> None:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                arrival = Arrival(self.path, dict(self.headers), body)
                service.arrivals.append(arrival)
                status, content = service._answer(arrival)
                with contextlib.suppress(OSError):
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(content)))
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(content)

            def log_message(self, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if self.tls is not None:
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        scheme = "https" if self.tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _answer(self, arrival: Arrival) -> Answer:
        if self.respond is not None:
            return self.respond(arrival)
        queued = self.answers.get(arrival.path)
        return (queued.pop(0) if queued else 201), b""

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass(frozen=True)
class Certificates:
    server: ssl.SSLContext
    client: ssl.SSLContext


def certificates() -> Certificates:
    """A CA of the test's own, a certificate for 127.0.0.1 from it, and a client context that
    trusts that CA only."""
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return Certificates(server, client)


class Browser:
    """A browser's side of one subscription (RFC 8291 §3): its key pair and auth secret."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)

    def subscription(self, endpoint: str) -> dict[str, Any]:
        """What `PushSubscription.toJSON()` gives."""
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": endpoint, "expirationTime": None,
                "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)}}  # fmt: skip

    def read(self, body: bytes) -> dict[str, Any]:
        """The message as the browser decrypts it (aes128gcm, RFC 8188 + RFC 8291)."""
        plain = http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth,
                                 version="aes128gcm")  # fmt: skip
        return orjson.loads(plain)  # type: ignore[no-any-return]
