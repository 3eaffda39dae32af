"""What Nerve's HTTP protocol (nerve/server/protocol.py) costs per request over uvicorn's own,
measured in-process: no sockets, no app work, so the difference is not lost in the noise of a
shared machine the way a wrk run's is.

    .venv/bin/python bench/http_protocol.py [--requests 20000] [--repeat 7]

Each round feeds the same tracking request (head and a ~470-byte body in one read, as wrk and
the SDKs send it) to one kept-alive connection of each protocol, alternately, answering it
with a minimal app; it prints the best round's microseconds per request, for uvicorn's
HttpToolsProtocol and for Nerve's, and the difference. CPU time of this process only.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import time
from collections.abc import Callable
from typing import Any

import uvloop
from tracking_payloads import single_event_template
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from nerve.server.config import connection_limits
from nerve.server.protocol import LimitedHttpToolsProtocol
from nerve.settings import Settings


class _Transport(asyncio.Transport):
    """Takes what the protocol writes and drops it."""

    def __init__(self) -> None:
        super().__init__()
        self.written = 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += 1

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _app(scope: Any, receive: Any, send: Any) -> None:
    """Reads the body and answers, like /v1/ping without the framework."""
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b'{"success":true}'})


def _request() -> bytes:
    body = single_event_template().replace("{{MID}}", "bench-0").encode()
    head = (
        "POST /v1/ping HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: wrk\r\n"
        "Authorization: Basic d3JpdGUta2V5Og==\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _per_request(make: Callable[..., asyncio.Protocol], requests: int) -> float:
    config = Config(_app, lifespan="off", log_level="warning")
    config.load()
    protocol: Any = make(config=config, server_state=ServerState(), app_state={})
    transport = _Transport()
    protocol.connection_made(transport)
    request = _request()
    started = time.process_time()
    for _ in range(requests):
        protocol.data_received(request)
        while not protocol.cycle.response_complete:  # let the app's task answer
            await asyncio.sleep(0)
    spent = time.process_time() - started
    protocol.connection_lost(None)
    assert transport.written >= requests
    return spent / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args()
    settings = Settings(database_url="sqlite:///unused.db", _env_file=None)  # type: ignore[call-arg]
    limits = connection_limits(settings, room=2 * settings.max_connections)
    protocols: dict[str, Callable[..., asyncio.Protocol]] = {
        "uvicorn HttpToolsProtocol": HttpToolsProtocol,
        "nerve LimitedHttpToolsProtocol": functools.partial(
            LimitedHttpToolsProtocol, limits=limits
        ),
    }
    best = {name: float("inf") for name in protocols}
    for _ in range(options.repeat):
        for name, make in protocols.items():
            spent = uvloop.run(_per_request(make, options.requests))
            best[name] = min(best[name], spent)
    for name, micros in best.items():
        print(f"  {name:32} {micros:6.2f} µs per request (best of {options.repeat})")
    base, ours = best.values()
    print(f"  difference                       {ours - base:+6.2f} µs ({(ours / base - 1):+.1%})")


if __name__ == "__main__":
    main()
