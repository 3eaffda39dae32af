"""The HTTP server's limits, over raw sockets against the real app served by uvicorn with
Nerve's protocol (in-process, short limits): late heads and idle connections, oversized heads,
the connection cap, and that ordinary traffic (keep-alive, pipelining) is untouched."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn

from nerve.app import create_app
from nerve.db import migrate
from nerve.db.engine import make_engine
from nerve.server.config import server_options
from nerve.settings import Settings

TIMEOUT = 0.5
MAX_CONNECTIONS = 4
MAX_HEADER_BYTES = 4096
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: nerve\r\n\r\n"


@dataclass
class Answer:
    raw: bytes
    seconds: float  # until the server closed the connection

    @property
    def status(self) -> int:
        return int(self.raw.split(b" ", 2)[1])

    @property
    def headers(self) -> str:
        return self.raw.partition(b"\r\n\r\n")[0].decode().lower()

    def error(self) -> dict[str, Any]:
        body = json.loads(self.raw.partition(b"\r\n\r\n")[2])
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
        return body["error"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    database = tmp_path_factory.mktemp("server") / "nerve.db"
    settings = Settings(
        database_url=f"sqlite:///{database}",
        header_timeout_seconds=TIMEOUT,
        body_timeout_seconds=TIMEOUT,
        max_connections=MAX_CONNECTIONS,
        max_header_bytes=MAX_HEADER_BYTES,
        log_level="warning",
        _env_file=None,  # type: ignore[call-arg]
    )
    _migrate(settings)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = int(probe.getsockname()[1])
    config = uvicorn.Config(
        create_app(settings),
        port=free,
        loop="uvloop",
        lifespan="on",
        log_level="warning",
        **server_options(settings),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield free
    server.should_exit = True
    thread.join()


def _migrate(settings: Settings) -> None:
    engine = make_engine(settings)
    migrate.upgrade(engine)
    engine.dispose()


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def _until_closed(sock: socket.socket) -> Answer:
    started, raw = time.monotonic(), b""
    try:
        while chunk := sock.recv(65536):
            raw += chunk
    except ConnectionResetError:
        pass  # the server closed while our bytes were still coming: what came, came
    return Answer(raw, time.monotonic() - started)


def _answer(sock: socket.socket) -> bytes:
    """One answer on a kept-alive connection (a small one: its head and body fit one read)."""
    raw = sock.recv(65536)
    if b"\r\n\r\n" in raw and not raw.partition(b"\r\n\r\n")[2]:
        raw += sock.recv(65536)  # the body came in a segment of its own
    return raw


def test_a_head_that_does_not_arrive_in_time_is_a_408_and_the_connection_closes(
    port: int,
) -> None:
    with _connect(port) as sock:
        sock.sendall(b"POST /v1/track HTTP/1.1\r\nHost: nerve\r\n")
        answer = _until_closed(sock)
    assert answer.status == 408 and "connection: close" in answer.headers
    assert answer.error()["code"] == "request_timeout"
    assert "head" in answer.error()["message"]
    assert TIMEOUT - 0.05 <= answer.seconds <= TIMEOUT + 2


def test_a_header_line_every_so_often_buys_no_time(port: int) -> None:
    with _connect(port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        for n in range(3):
            time.sleep(TIMEOUT / 3)
            sock.sendall(f"X-Slow-{n}: 1\r\n".encode())
        answer = _until_closed(sock)
    assert answer.status == 408 and answer.error()["code"] == "request_timeout"


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(port: int) -> None:
    with _connect(port) as sock:
        answer = _until_closed(sock)
    assert answer.raw == b"" and answer.seconds <= TIMEOUT + 2


def test_blank_lines_after_an_answer_do_not_hold_a_kept_alive_connection(port: int) -> None:
    """They stop uvicorn's keep-alive timer; the next head's deadline applies to them."""
    with _connect(port) as sock:
        sock.sendall(HEALTHZ)
        assert _answer(sock).startswith(b"HTTP/1.1 200 ")
        started = time.monotonic()
        try:
            for _ in range(20):
                sock.sendall(b"\r\n")
                time.sleep(TIMEOUT / 5)
        except OSError:
            pass  # closed, as it should be
        answer = _until_closed(sock)
    assert time.monotonic() - started < TIMEOUT + 2
    assert answer.raw == b"" or answer.status == 408


def test_a_head_over_the_limit_is_a_431_whether_it_comes_in_one_piece_or_many(
    port: int,
) -> None:
    cookie = b"Cookie: " + b"c" * MAX_HEADER_BYTES + b"\r\n"
    with _connect(port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: nerve\r\n" + cookie + b"\r\n")
        whole = _until_closed(sock)
    with _connect(port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: nerve\r\n")
        for start in range(0, len(cookie), 1024):
            time.sleep(0.01)
            sock.sendall(cookie[start : start + 1024])
        pieces = _until_closed(sock)
    for answer in (whole, pieces):
        assert answer.status == 431 and "connection: close" in answer.headers, answer.raw
        assert answer.error()["code"] == "header_too_large"


def test_a_head_within_the_limit_is_served(port: int) -> None:
    cookie = b"Cookie: " + b"c" * (MAX_HEADER_BYTES - 200) + b"\r\n"
    with _connect(port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: nerve\r\n" + cookie + b"\r\n")
        assert _answer(sock).startswith(b"HTTP/1.1 200 ")


def test_beyond_the_connection_cap_a_request_is_a_503_in_the_contracts_shape(
    port: int,
) -> None:
    held = [_connect(port) for _ in range(MAX_CONNECTIONS)]
    try:
        for sock in held:  # each holds a request open, its body unfinished
            sock.sendall(b"POST /v1/track HTTP/1.1\r\nHost: nerve\r\nContent-Length: 9\r\n\r\n{")
        time.sleep(0.1)
        with _connect(port) as sock:
            sock.sendall(HEALTHZ)
            refused = _until_closed(sock)
    finally:
        for sock in held:
            sock.close()
    assert refused.status == 503, refused.raw
    assert "retry-after: 1" in refused.headers and "connection: close" in refused.headers
    assert refused.error()["code"] == "unavailable"
    time.sleep(0.1)  # the server notices the hang-ups
    with _connect(port) as sock:
        sock.sendall(HEALTHZ)
        assert _answer(sock).startswith(b"HTTP/1.1 200 ")


def test_after_its_408_a_client_still_sending_gets_no_reset(port: int) -> None:
    """Closing while a client's bytes still arrive answers them with a reset, which can
    destroy the 408 before the client reads it (some systems drop unread data on a reset): the
    server ends its side and reads and drops what still comes, for a while."""
    with _connect(port) as sock:
        sock.sendall(b"POST /v1/track HTTP/1.1\r\nHost: nerve\r\nContent-Length: 9999\r\n\r\n{")
        answer = _until_closed(sock)  # the server's side ended
        assert answer.status == 408 and answer.error()["code"] == "request_timeout"
        for _ in range(3):  # a reset would make the second send at the latest fail
            sock.sendall(b" " * 1024)
            time.sleep(0.1)


def test_a_body_still_coming_after_an_early_answer_does_not_hold_the_connection(
    port: int,
) -> None:
    """A body declared too large is refused at once (413); the rest of it is read and
    dropped (so the client sees the answer rather than a reset) only until the body timeout."""
    with _connect(port) as sock:
        sock.sendall(b"POST /v1/track HTTP/1.1\r\nHost: nerve\r\nContent-Length: 99999999\r\n\r\n")
        assert _answer(sock).startswith(b"HTTP/1.1 413 ")
        started = time.monotonic()
        try:
            while time.monotonic() - started < TIMEOUT + 3:
                sock.sendall(b"x" * 100)
                time.sleep(0.05)
        except OSError:
            pass
    assert time.monotonic() - started < TIMEOUT + 2


def test_kept_alive_and_pipelined_requests_are_served_as_before(port: int) -> None:
    with _connect(port) as sock:
        for _ in range(3):
            sock.sendall(HEALTHZ)
            assert _answer(sock).startswith(b"HTTP/1.1 200 ")
            time.sleep(TIMEOUT * 1.5)  # idle between requests is keep-alive's, not the head's
        sock.sendall(HEALTHZ + HEALTHZ.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        both = _until_closed(sock)
    assert both.raw.count(b"HTTP/1.1 200 ") == 2
