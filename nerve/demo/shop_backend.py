"""The demo's stand-in for the shop's backend: a small real HTTP server on 127.0.0.1 that
receives the abandoned-cart flow's webhooks (a coupon the shop must honour for a cart) and
remembers them for the screen.

Nerve delivers a webhook at least once and sends the same `webhook-id` on every attempt
(Standard Webhooks), so the receiver counts each id once, as a real receiver must.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

PATH = "/coupons"
HOST = "127.0.0.1"
RECEIVER_NETWORK = f"{HOST}/32"  # what the demo's outbound policy allows: this receiver
_MAX_BODY = 1_000_000


@dataclass(frozen=True)
class CouponIssued:
    webhook_id: str
    run_id: str
    coupon: str | None
    total: float | None  # the cart's total when the checkout started, EUR
    user_id: str | None
    anonymous_id: str | None


class ShopBackend:
    def __init__(self, ports: Iterable[int | None] = ()) -> None:
        """Listen on the first of `ports` that is free, else on any free port."""
        self._lock = threading.Lock()
        self._coupons: dict[str, CouponIssued] = {}
        self._server = _bind(self, [*ports, 0])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="nerve-demo-shop-backend", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._server.server_address[1]}{PATH}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    @property
    def coupons(self) -> int:
        """Coupons issued, each webhook counted once."""
        with self._lock:
            return len(self._coupons)

    def receive(self, coupon: CouponIssued) -> None:
        with self._lock:
            self._coupons.setdefault(coupon.webhook_id, coupon)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stuck sender must not keep the demo from stopping

    def __init__(self, port: int, receiver: ShopBackend) -> None:
        super().__init__((HOST, port), _Handler)
        self.receiver = receiver


def _bind(receiver: ShopBackend, ports: list[int | None]) -> _Server:
    for port in ports:
        if port is None:
            continue
        try:
            return _Server(port, receiver)
        except OSError:  # taken: try the next one
            continue
    raise OSError("no free port for the demo's shop backend")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        if self.path != PATH:
            self._answer(HTTPStatus.NOT_FOUND, {"error": f"POST to {PATH}"})
            return
        webhook_id = self.headers.get("webhook-id")
        length = int(self.headers.get("content-length") or 0)
        if not webhook_id or not 0 < length <= _MAX_BODY:
            self._answer(HTTPStatus.BAD_REQUEST, {"error": "needs webhook-id and a JSON body"})
            return
        try:
            body = orjson.loads(self.rfile.read(length))
        except orjson.JSONDecodeError:
            self._answer(HTTPStatus.BAD_REQUEST, {"error": "the body is not JSON"})
            return
        self.server.receiver.receive(_coupon(webhook_id, body))
        self._answer(HTTPStatus.OK, {"received": True})

    def _answer(self, status: HTTPStatus, body: dict[str, Any]) -> None:
        content = orjson.dumps(body)
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the demo's screen reports the coupons."""


def _coupon(webhook_id: str, body: Any) -> CouponIssued:
    """What the screen shows of a webhook: Nerve's envelope around the flow's `body`."""
    body = _object(body)
    data, trigger = _object(body.get("data")), _object(body.get("trigger"))
    total = _object(trigger.get("properties")).get("total")
    coupon = data.get("coupon")
    return CouponIssued(
        webhook_id=webhook_id,
        run_id=str(body.get("run_id", "")),
        coupon=coupon if isinstance(coupon, str) else None,
        total=float(total) if isinstance(total, int | float) else None,
        user_id=trigger.get("userId"),
        anonymous_id=trigger.get("anonymousId"),
    )


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
