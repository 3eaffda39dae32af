"""A benchmark's receiver as a process of its own (so it takes no CPU from the process measured),
on a free loopback port, started and waited for until it accepts connections."""

from __future__ import annotations

import socket
import subprocess
import time


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(command: list[str], port: int, what: str, quiet: bool = False) -> subprocess.Popen[bytes]:
    """Run `command` (which listens on `port`) and return once it accepts connections."""
    output = subprocess.DEVNULL if quiet else None
    sink = subprocess.Popen(command, stdout=output, stderr=output)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return sink
        time.sleep(0.05)
    sink.kill()
    raise SystemExit(f"the {what} did not start")
