"""`nerve demo` as a newcomer runs it: one command, then events from every head of the shop,
customers who use several heads known as one person each, and abandoned carts reminded by a flow."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

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


def _read_lookup_example(demo: subprocess.Popen[str]) -> str:
    """The URL of the welcome's example that looks up a simulated customer by e-mail."""
    assert demo.stdout is not None
    seen = []
    for line in demo.stdout:
        seen.append(line)
        found = re.search(r"'(http://\S+/api/v1/profiles\?identifier=email:\S+)'", line)
        if found:
            return found.group(1)
    raise AssertionError("the demo printed no profile lookup example:\n" + "".join(seen))


def _read_runs_example(demo: subprocess.Popen[str]) -> str:
    """The URL of the welcome's example that lists the abandoned-cart flow's runs."""
    assert demo.stdout is not None
    seen = []
    for line in demo.stdout:
        seen.append(line)
        found = re.search(r"'(http://\S+/api/v1/flows/demo_abandoned_cart/runs\S*)'", line)
        if found:
            return found.group(1)
    raise AssertionError("the demo printed no flow runs example:\n" + "".join(seen))


def _get(base_url: str, admin_key: str, path: str, **query: str) -> httpx.Response:
    return httpx.get(
        f"{base_url}{path}", params=query, headers={"Authorization": f"Bearer {admin_key}"}
    )


def _events(base_url: str, admin_key: str, **query: str) -> list[dict[str, Any]]:
    response = _get(base_url, admin_key, "/api/v1/events", **query, limit="1000")
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def _get_until_found(url: str, admin_key: str, until: float) -> httpx.Response:
    while True:
        response = httpx.get(url, headers={"Authorization": f"Bearer {admin_key}"})
        if response.status_code != 404 or time.monotonic() > until:
            return response
        time.sleep(0.25)


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


def _customer_on_several_heads(
    base_url: str, admin_key: str, until: float
) -> tuple[str, set[str]] | None:
    """The e-mail of a customer whose account events came from two heads or more, and those."""
    while True:
        heads: dict[str, set[str]] = defaultdict(set)
        emails: dict[str, str] = {}
        for head in HEADS:
            for event in _events(base_url, admin_key, source=head):
                if not event.get("userId"):
                    continue
                heads[event["userId"]].add(head)
                traits = {**event.get("context", {}).get("traits", {}), **event.get("traits", {})}
                if traits.get("email"):
                    emails[event["userId"]] = traits["email"].strip().lower()
        for user_id, used in heads.items():
            if len(used) >= 2 and user_id in emails:
                return emails[user_id], used
        if time.monotonic() > until:
            return None
        time.sleep(0.5)


def _profile(
    base_url: str, admin_key: str, email: str, heads: set[str], until: float
) -> dict[str, Any]:
    """The customer's profile once it shows every head (resolution runs in the background)."""
    while True:
        response = _get(base_url, admin_key, "/api/v1/profiles", identifier=f"email:{email}")
        if response.status_code == 200:
            profile: dict[str, Any] = response.json()
            kinds = {source["kind"] for source in profile["computed"]["sources"]}
            if heads <= kinds or time.monotonic() > until:
                return profile
        else:
            assert response.status_code == 404, response.text
            assert time.monotonic() < until, f"no profile for {email}"
        time.sleep(0.25)


def _reminded_run(
    base_url: str, admin_key: str, until: float
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The flow's runs, and one of them whose reminder webhook was delivered (None if none yet)."""
    inspected: set[str] = set()
    while True:
        path = "/api/v1/flows/demo_abandoned_cart/runs"
        response = _get(base_url, admin_key, path, limit="1000")
        assert response.status_code == 200, response.text
        runs: list[dict[str, Any]] = response.json()["data"]
        for run in runs:
            if run["id"] in inspected:
                continue
            detail = _get(base_url, admin_key, f"/api/v1/runs/{run['id']}")
            assert detail.status_code == 200, detail.text
            found: dict[str, Any] = detail.json()
            if any(step["kind"] == "action" for step in found["steps"]):
                return runs, found
            if run["status"] not in ("active", "waiting"):
                inspected.add(run["id"])  # ended without a reminder: it will not get one
        if time.monotonic() > until:
            return runs, None
        time.sleep(0.5)


def _timeline(base_url: str, admin_key: str, profile_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    cursor: dict[str, str] = {}
    while True:
        path = f"/api/v1/profiles/{profile_id}/timeline"
        response = _get(base_url, admin_key, path, limit="1000", **cursor)
        assert response.status_code == 200, response.text
        page = response.json()
        events += page["data"]
        if not page["next_cursor"]:
            return events
        cursor = {"cursor": page["next_cursor"]}


@pytest.mark.slow
def test_demo_serves_a_shop_whose_heads_all_report_events(tmp_path: Path) -> None:
    port = _free_port()
    # At 40x the flow's first reminder comes 1.5 s after an abandoned checkout.
    env = {**os.environ, "NERVE_DEMO_SPEED": "40"}
    demo = subprocess.Popen(
        [str(NERVE), "demo", "--port", str(port), "--duration", "16", "--customers", "8"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        admin_key = _read_admin_key(demo)
        lookup_example = _read_lookup_example(demo)
        runs_example = _read_runs_example(demo)
        arrived = _wait_for_shop_traffic(base_url, admin_key, time.monotonic() + 7)
        # The first customer of the welcome's example shows up within a second or two.
        example = _get_until_found(lookup_example, admin_key, time.monotonic() + 5)
        several = _customer_on_several_heads(base_url, admin_key, time.monotonic() + 5)
        assert several is not None, "no customer used two heads with their account"
        email, heads = several
        profile = _profile(base_url, admin_key, email, heads, time.monotonic() + 10)
        timeline = _timeline(base_url, admin_key, profile["id"])
        latest_runs = httpx.get(runs_example, headers={"Authorization": f"Bearer {admin_key}"})
        runs, reminded = _reminded_run(base_url, admin_key, time.monotonic() + 8)
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
    assert example.status_code == 200, example.text
    example_email = unquote(lookup_example.partition("identifier=email:")[2])
    assert {"type": "email", "value": example_email} in example.json()["identifiers"]

    # One person, whichever head they used: the lookup by e-mail finds them with every head.
    kinds = {source["kind"] for source in profile["computed"]["sources"]}
    assert heads <= kinds, f"{email} used {sorted(heads)}, the profile knows {sorted(kinds)}"
    assert len(kinds) >= 2
    assert {"type": "email", "value": email} in profile["identifiers"]
    # The timeline was read after the profile: the customer may have used yet another head since.
    assert {source["id"] for source in profile["computed"]["sources"]} <= {
        event["sourceId"] for event in timeline
    }
    times = [datetime.fromisoformat(event["timestamp"]) for event in timeline]
    assert times == sorted(times), "the timeline is not in event-time order"

    # Abandoned checkouts start runs of the demo's flow, which sends reminders as webhooks to the
    # receiver the demo runs; the receiver answered, and the farewell counts what it got.
    assert latest_runs.status_code == 200, latest_runs.text
    assert runs, "no checkout started a run of the abandoned-cart flow"
    assert all(run["environment"] == "production" for run in runs)
    assert reminded is not None, f"no reminder was sent for any of {len(runs)} runs"
    action = next(step for step in reminded["steps"] if step["kind"] == "action")
    assert action["node"] == "first_reminder"
    assert action["detail"]["result"] == {"status": 200}
    assert [step["kind"] for step in reminded["steps"]][:2] == ["entered", "waiting"]
    sent = re.search(r"(\d+) cart reminders? sent", " ".join(out.split()))
    assert sent and int(sent.group(1)) >= 1, out

    assert demo.returncode == 0, err
    assert "Traceback" not in err, err
    assert "Stopped after" in out
    assert re.search(r"Nerve sees \d+ (people|person) \(\d+ identified\)", out), out
    assert (tmp_path / "nerve-demo.db").exists()
