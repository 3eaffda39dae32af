"""`nerve flows validate|apply|test` run as a user runs them: the real CLI in a subprocess, on a
throw-away SQLite database."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.conftest import NERVE

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).parents[2] / "flows" / "abandoned_cart.yaml"


def _nerve(workdir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NERVE, *args],
        cwd=workdir,
        # A wide terminal, so that human output is not wrapped.
        env=os.environ
        | {"NERVE_DATABASE_URL": f"sqlite:///{workdir / 'nerve.db'}", "COLUMNS": "200"}
        | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """--json output is exactly one JSON object on stdout."""
    [line] = result.stdout.splitlines()
    found = json.loads(line)
    assert isinstance(found, dict)
    return found


def _scenario(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(event) + "\n" for event in events))
    return path


def test_validate_accepts_a_valid_flow(tmp_path: Path) -> None:
    human = _nerve(tmp_path, "flows", "validate", str(EXAMPLE))
    assert human.returncode == 0, human.stderr
    assert "valid abandoned_cart: 6 nodes" in human.stdout
    as_json = _nerve(tmp_path, "flows", "validate", str(EXAMPLE), "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert _json(as_json) == {"valid": True, "name": "abandoned_cart", "nodes": 6}


def test_validate_names_the_bad_field(tmp_path: Path) -> None:
    bad = tmp_path / "abandoned_cart.yaml"
    bad.write_text(EXAMPLE.read_text().replace("wait: 22h", "wait: 22 hours"))
    human = _nerve(tmp_path, "flows", "validate", str(bad))
    assert human.returncode != 0
    assert "invalid_flow" in human.stderr and "nodes[2].wait" in human.stderr
    assert "22 hours" in human.stderr
    as_json = _nerve(tmp_path, "flows", "validate", str(bad), "--json")
    assert as_json.returncode != 0
    error = _json(as_json)["error"]
    assert error["code"] == "invalid_flow" and error["message"]
    assert [problem["path"] for problem in error["details"]] == ["nodes[2].wait"]


def test_apply_publishes_a_new_version_per_environment(tmp_path: Path) -> None:
    staging = _nerve(tmp_path, "flows", "apply", str(EXAMPLE), "--env", "staging", "--json")
    assert staging.returncode == 0, staging.stderr
    production = _nerve(tmp_path, "flows", "apply", str(EXAMPLE), "--env", "production", "--json")
    assert production.returncode == 0, production.stderr
    first, second = _json(staging), _json(production)
    assert (first["version"], first["environment"]) == (1, "staging")
    assert (second["version"], second["environment"]) == (2, "production")
    assert first["flow_id"] == second["flow_id"] and first["version_id"] != second["version_id"]
    typo = _nerve(tmp_path, "flows", "apply", str(EXAMPLE), "--env", "prod", "--json")
    assert typo.returncode != 0
    assert _json(typo)["error"]["code"] == "invalid_request"


def test_time_travel_shows_both_paths_of_the_abandoned_cart_series(tmp_path: Path) -> None:
    start = datetime.fromisoformat("2026-11-02T10:00:00+00:00")

    def event(person: str, name: str, hours: float, cart: str) -> dict[str, Any]:
        at = (start + timedelta(hours=hours)).isoformat()
        properties = {"cart_id": cart, "total": 80.0}
        return {"userId": person, "event": name, "timestamp": at, "properties": properties}

    scenario = _scenario(
        tmp_path / "scenario.jsonl",
        [
            event("anna", "Checkout Started", 0, "cart-a"),  # never orders
            event("ben", "Checkout Started", 0, "cart-b"),
            event("ben", "Order Completed", 3, "cart-b"),  # after the first reminder
        ],
    )
    result = _nerve(tmp_path, "flows", "test", str(EXAMPLE), "--events", str(scenario), "--json")
    assert result.returncode == 0, result.stderr
    timeline = _json(result)["timeline"]
    runs = {e["detail"]["profile"]: e["run"] for e in timeline if e["what"] == "run started"}

    def reminders(person: str) -> list[tuple[timedelta, int]]:
        return [
            (datetime.fromisoformat(e["at"]) - start, e["detail"]["with"]["body"]["step"])
            for e in timeline
            if e["run"] == runs[person] and e["what"] == "action webhook"
        ]

    hours = timedelta(hours=1)
    assert reminders("anna") == [(2 * hours, 1), (24 * hours, 2), (72 * hours, 3)]
    assert [e["what"] for e in timeline if e["run"] == runs["anna"]][-1] == "completed"
    assert reminders("ben") == [(2 * hours, 1)]
    ben = [(e["at"], e["what"]) for e in timeline if e["run"] == runs["ben"]]
    assert ben[-1] == ((start + 3 * hours).isoformat(), "goal reached")

    human = _nerve(tmp_path, "flows", "test", str(EXAMPLE), "--events", str(scenario))
    assert human.returncode == 0, human.stderr
    lines = human.stdout.splitlines()
    assert [line[:16] for line in lines if "action webhook" in line] == [
        "2026-11-02 12:00",  # both first reminders
        "2026-11-02 12:00",
        "2026-11-03 10:00",
        "2026-11-05 10:00",
    ]
    assert any(line.startswith("2026-11-02 13:00") and "goal reached" in line for line in lines)


def test_a_bad_scenario_line_is_named(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.jsonl"
    scenario.write_text(
        "# Anna starts a checkout\n"
        '{"userId": "anna", "event": "Checkout Started", "timestamp": "2026-11-02T10:00:00Z"}\n'
        '{"userId": "anna", "event": "Order Completed", timestamp: "2026-11-02T11:00:00Z"}\n'
    )
    human = _nerve(tmp_path, "flows", "test", str(EXAMPLE), "--events", str(scenario))
    assert human.returncode != 0 and human.stdout == ""
    assert "scenario.jsonl" in human.stderr and "line 3:" in human.stderr
    assert "line 1" not in human.stderr  # no position that points at another line
    as_json = _nerve(tmp_path, "flows", "test", str(EXAMPLE), "--events", str(scenario), "--json")
    assert as_json.returncode != 0
    error = _json(as_json)["error"]
    assert error["code"] == "invalid_request" and "line 3:" in error["message"]


def test_a_split_puts_each_person_on_the_same_path_in_every_process(tmp_path: Path) -> None:
    flow = tmp_path / "welcome_offer.yaml"
    flow.write_text(
        """
name: welcome_offer
trigger: {event: Signed Up}
nodes:
  - id: offer
    split: [{percent: 50, goto: control}, {percent: 50, goto: discount}]
  - id: control
    action: webhook
    with: {url: "https://shop.example/welcome"}
    next: end
  - id: discount
    action: webhook
    with: {url: "https://shop.example/welcome", body: {coupon: TEN}}
"""
    )
    scenario = _scenario(
        tmp_path / "sign_ups.jsonl",
        [
            {"userId": f"c{n}", "event": "Signed Up", "timestamp": f"2026-11-02T10:{n:02}:00Z"}
            for n in range(40)
        ],
    )

    def paths(hash_seed: str) -> dict[str, str]:
        result = _nerve(
            tmp_path, "flows", "test", str(flow), "--events", str(scenario), "--json",
            PYTHONHASHSEED=hash_seed,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        timeline = _json(result)["timeline"]
        people = {e["run"]: e["detail"]["profile"] for e in timeline if e["what"] == "run started"}
        return {
            people[e["run"]]: e["detail"]["node"] for e in timeline if e["what"] == "action webhook"
        }

    first = paths("1")
    assert len(first) == 40 and set(first.values()) == {"control", "discount"}
    assert paths("2") == first


def test_applying_an_unchanged_flow_publishes_nothing(tmp_path: Path) -> None:
    first = _json(_nerve(tmp_path, "flows", "apply", str(EXAMPLE), "--env", "production", "--json"))
    assert (first["version"], first["unchanged"]) == (1, False)
    human = _nerve(tmp_path, "flows", "apply", str(EXAMPLE), "--env", "production")
    assert human.returncode == 0, human.stderr
    assert "unchanged: abandoned_cart v1 in production" in human.stdout
    again = _nerve(tmp_path, "flows", "apply", str(EXAMPLE), "--env", "production", "--json")
    assert _json(again) == {**first, "unchanged": True}
    changed = tmp_path / "abandoned_cart.yaml"
    changed.write_text(EXAMPLE.read_text().replace("wait: 22h", "wait: 20h"))
    newer = _json(_nerve(tmp_path, "flows", "apply", str(changed), "--env", "production", "--json"))
    assert (newer["version"], newer["unchanged"]) == (2, False)


FOREVER = """
name: nag
trigger: {event: Signed Up}
nodes:
  - {id: remind, action: webhook, with: {url: "https://shop.example/nag"}}
  - {id: pause, wait: 1d}
  - {id: again, branch: [{else: true, goto: remind}]}
"""


def test_a_time_travel_test_that_would_run_forever_stops_at_its_budget(tmp_path: Path) -> None:
    flow = tmp_path / "nag.yaml"
    flow.write_text(FOREVER)
    scenario = _scenario(
        tmp_path / "sign_up.jsonl",
        [{"userId": "anna", "event": "Signed Up", "timestamp": "2026-11-02T10:00:00Z"}],
    )
    args = ("flows", "test", str(flow), "--events", str(scenario))
    human = _nerve(tmp_path, *args, NERVE_FLOW_TEST_MAX_STEPS="60")
    assert human.returncode == 0, human.stderr
    lines = human.stdout.splitlines()
    assert sum("action webhook" in line for line in lines) == 20  # 3 steps a day
    assert lines[-1].startswith("stopped after 60 steps, the most a test takes")
    as_json = _json(_nerve(tmp_path, *args, "--json", NERVE_FLOW_TEST_MAX_STEPS="60"))
    assert as_json["stopped"]["budget"] == "steps" and len(as_json["timeline"]) > 20

    loop = tmp_path / "spin.yaml"
    loop.write_text(FOREVER.replace("  - {id: pause, wait: 1d}\n", ""))
    refused = _nerve(tmp_path, "flows", "validate", str(loop), "--json")
    assert refused.returncode != 0
    [problem] = _json(refused)["error"]["details"]
    assert problem["path"] == "nodes[0]" and problem["reason"].startswith(
        "remind → again → remind loops back without waiting"
    )
