"""Slow and vanishing clients against a real `nerve serve`. Slowloris senders (a head, then a
Content-Length body a byte at a time) do not starve `/healthz` and do not keep their file
descriptors: each is answered 408 in the contract's shape once the body timeout has passed, on
the Tracking API and the admin API alike, while a body that is slow but in time still gets
through; and a client that hangs up mid-body is one info line in the log, not a traceback."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import selectors
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.acceptance.conftest import NerveProcess

pytestmark = pytest.mark.slow

BODY_TIMEOUT = 2.0
SLOW_SENDERS = 300
ADMIN_SENDERS = 50  # of them, publishing a flow; the rest track
BYTE_EVERY = 1.0  # seconds: trickling on does not buy a sender more time


@dataclass
class Answer:
    raw: bytes
    seconds: float  # from the head's sending to the connection's close
    reset: bool = False

    @property
    def status(self) -> int:
        return int(self.raw.split(b" ", 2)[1]) if self.raw else 0

    def json(self) -> Any:
        return json.loads(self.raw.partition(b"\r\n\r\n")[2])


class SlowSenders:
    """Sockets that each send a head and the first byte of a 1000-byte body, then one byte a
    second, never finishing; each one's answer is read as soon as it comes."""

    def __init__(self, port: int, heads: list[bytes]) -> None:
        self._selector = selectors.DefaultSelector()  # epoll: select() stops at fd 1024
        self._sent_at: dict[socket.socket, float] = {}
        self.answers: list[Answer] = []
        for head in heads:
            sock = socket.create_connection(("127.0.0.1", port))
            sock.settimeout(5)
            sock.sendall(head + b"{")
            self._sent_at[sock] = time.monotonic()
            self._selector.register(sock, selectors.EVENT_READ)
        self._thread = threading.Thread(target=self._trickle_and_read, daemon=True)
        self._thread.start()

    def wait(self, timeout: float) -> list[Answer]:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"{len(self._sent_at)} senders still unanswered"
        return self.answers

    def _trickle_and_read(self) -> None:
        next_byte = time.monotonic() + BYTE_EVERY
        give_up = next_byte + 30
        while self._sent_at and time.monotonic() < give_up:
            for key, _ in self._selector.select(timeout=max(0.0, next_byte - time.monotonic())):
                self._read_answer(key.fileobj)  # type: ignore[arg-type]
            if time.monotonic() >= next_byte:
                for sock in self._sent_at:
                    with contextlib.suppress(OSError):  # closed: its answer is being read
                        sock.send(b" ")
                next_byte += BYTE_EVERY

    def _read_answer(self, sock: socket.socket) -> None:
        raw, reset = b"", False
        try:
            while chunk := sock.recv(65536):
                raw += chunk
        except ConnectionResetError:
            reset = True
        self.answers.append(Answer(raw, time.monotonic() - self._sent_at.pop(sock), reset))
        self._selector.unregister(sock)
        sock.close()


def _descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _healthz_in_time(nerve: NerveProcess) -> float:
    started = time.monotonic()
    response = httpx.get(f"{nerve.url}/healthz", timeout=1.0)
    took = time.monotonic() - started
    assert response.status_code == 200 and took < 1.0, (response.status_code, took)
    return took


def _head(path: str, authorization: str, length: int = 1000) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: nerve\r\nAuthorization: {authorization}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()


def test_slow_senders_get_a_408_in_time_and_give_back_their_descriptors(
    nerve: NerveProcess,
) -> None:
    nerve.env |= {"NERVE_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT), "NERVE_LOG_LEVEL": "info"}
    secret = nerve.cli("keys", "create")["secret_key"]
    write_key = nerve.cli("sources", "create", "web", "--kind", "web")["write_key"]
    basic = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    nerve.start()
    assert nerve.process is not None
    pid = nerve.process.pid
    for _ in range(3):
        _healthz_in_time(nerve)
    before = _descriptors(pid)

    heads = [_head("/api/v1/flows", f"Bearer {secret}")] * ADMIN_SENDERS
    heads += [_head("/v1/track", basic)] * (SLOW_SENDERS - ADMIN_SENDERS)
    senders = SlowSenders(nerve.port, heads)
    with ThreadPoolExecutor(1) as pool:
        steady = pool.submit(_send_steadily, nerve.port, basic, seconds=BODY_TIMEOUT * 0.6)
        held, checks = 0, 0
        deadline = time.monotonic() + BODY_TIMEOUT + 10
        # While they hang, health checks answer, each within a second.
        while not senders.answers and time.monotonic() < deadline:
            _healthz_in_time(nerve)
            held, checks = max(held, _descriptors(pid)), checks + 1
            time.sleep(0.1)
        answers = senders.wait(timeout=BODY_TIMEOUT + 10)
        after = _descriptors_settled(pid, before)
        in_time = steady.result()

    assert checks >= 5, checks
    assert held >= before + SLOW_SENDERS, (before, held)
    assert in_time.status == 200 and in_time.json() == {"success": True}, in_time.raw
    assert after <= before + 5, (before, held, after)
    assert len(answers) == SLOW_SENDERS
    for answer in answers:
        assert not answer.reset and answer.status == 408, answer.raw
        assert answer.json()["error"]["code"] == "request_timeout"
        assert set(answer.json()["error"]) == {"code", "message", "details"}
        assert b"\r\nconnection: close\r\n" in answer.raw.lower()
        assert BODY_TIMEOUT - 0.1 <= answer.seconds <= BODY_TIMEOUT + 3, answer.seconds

    _hang_up(nerve.port, _head("/v1/track", basic, length=100), part=b'{"userId": ')
    _hang_up(nerve.port, _head("/api/v1/flows", f"Bearer {secret}", length=100), part=b"{")
    _healthz_in_time(nerve)
    nerve.stop()
    log = (nerve.workdir / "serve.log").read_text()
    assert log.count("request_timeout") == SLOW_SENDERS, log[-3000:]
    hang_ups = [line for line in log.splitlines() if "client_disconnected" in line]
    assert len(hang_ups) == 2, log[-3000:]
    assert "path=/v1/track" in hang_ups[0] and "received_bytes=11" in hang_ups[0]
    assert "path=/api/v1/flows" in hang_ups[1] and "received_bytes=1 " in hang_ups[1] + " "
    assert all("[info" in line for line in hang_ups)
    assert "Traceback" not in log and "[error" not in log and "ERROR" not in log, log[-3000:]


def _send_steadily(port: int, basic: str, seconds: float) -> Answer:
    """A track call whose body comes in four pieces over `seconds`: slow, but in time."""
    body = json.dumps({"userId": "anna", "event": "Product Viewed"}).encode()
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(_head("/v1/track", basic, length=len(body)))
        piece = len(body) // 4 + 1
        for start in range(0, len(body), piece):
            time.sleep(seconds / 4)
            sock.sendall(body[start : start + piece])
        raw = b""
        while chunk := sock.recv(65536):  # Connection: close, so the answer ends with EOF
            raw += chunk
    return Answer(raw, time.monotonic() - started)


def _hang_up(port: int, head: bytes, part: bytes) -> None:
    """Send a head and part of the body, then hang up, and give the server a moment."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head + part)
        time.sleep(0.2)
    time.sleep(0.3)


def _descriptors_settled(pid: int, before: int, within: float = 3.0) -> int:
    """The server's descriptor count once the closed connections are gone (closing is not
    instant), or as it stands after `within` seconds."""
    deadline = time.monotonic() + within
    while (count := _descriptors(pid)) > before + 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    return count
