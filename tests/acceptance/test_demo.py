"""`nerve demo` as a newcomer runs it: one command, then events from every head of the shop."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

NERVE = Path(sys.executable).parent / "nerve"
HEADS = ("web", "app", "kiosk", "pos")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _read_admin_key(demo: subprocess.Popen[str]) -> str:
    assert demo.stdout is not None
    seen = []
    for line in demo.stdout:
        seen.append(line)
        found = re.match(r"admin key: (nrv_\S+)", line)
        if found:
            return found.group(1)
    raise AssertionError("the demo printed no admin key:\n" + "".join(seen))


def _events(base_url: str, admin_key: str, **query: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{base_url}/api/v1/events",
        params={**query, "limit": "1000"},
        headers={"Authorization": f"Bearer {admin_key}"},
    )
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def _wait_for_shop_traffic(base_url: str, admin_key: str, until: float) -> dict[str, Any]:
    """Events per head and per e-commerce event name, once all have some (or time is up)."""
    queries: dict[str, dict[str, str]] = {head: {"source": head} for head in HEADS}
    queries["Product Viewed"] = {"event": "Product Viewed"}
    queries["Order Completed"] = {"event": "Order Completed"}
    queries["till sales"] = {"source": "pos", "event": "Order Completed"}
    while True:
        arrived = {name: _events(base_url, admin_key, **query) for name, query in queries.items()}
        if all(arrived.values()) or time.monotonic() > until:
            return arrived
        time.sleep(0.5)


@pytest.mark.slow
def test_demo_serves_a_shop_whose_heads_all_report_events(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "NERVE_DEMO_SPEED": "25"}
    demo = subprocess.Popen(
        [str(NERVE), "demo", "--port", str(port), "--duration", "8", "--customers", "5"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        admin_key = _read_admin_key(demo)
        arrived = _wait_for_shop_traffic(
            f"http://127.0.0.1:{port}", admin_key, time.monotonic() + 7
        )
        out, err = demo.communicate(timeout=60)
    finally:
        demo.kill()
        demo.wait()

    missing = [name for name, events in arrived.items() if not events]
    assert not missing, f"nothing arrived for {missing}"
    for order in arrived["Order Completed"]:
        assert order["properties"]["products"]
        assert order["properties"]["currency"] == "EUR"
    # A till knows the customer by the e-mail on the receipt.
    assert all("@" in sale["context"]["traits"]["email"] for sale in arrived["till sales"])
    assert demo.returncode == 0, err
    assert "Traceback" not in err, err
    assert "Stopped after" in out
    assert (tmp_path / "nerve-demo.db").exists()
