"""What the real `nerve` executable prints when a script captures it: whole lines, and with
`--json` exactly one JSON object on stdout whatever goes wrong."""

from __future__ import annotations

import json
import os
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

import nerve
from tests.acceptance.conftest import NERVE

pytestmark = pytest.mark.slow


def _nerve(workdir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # No COLUMNS: what a pipe or a CI log sees.
    environ = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return subprocess.run(
        [NERVE, *args],
        cwd=workdir,
        env=environ | {"NERVE_DATABASE_URL": f"sqlite:///{workdir / 'nerve.db'}"} | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _one_json_object(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    [line] = result.stdout.splitlines()
    found = json.loads(line)
    assert isinstance(found, dict)
    return found


def test_version(tmp_path: Path) -> None:
    result = _nerve(tmp_path, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"nerve {nerve.__version__}\n"
    assert nerve.__version__ == version("nerve")  # the package's metadata (pyproject.toml)


def test_a_long_line_is_not_folded_when_captured(tmp_path: Path) -> None:
    name = "the web shop of the flagship store in the old town, desktop and mobile"
    result = _nerve(tmp_path, "sources", "create", name, "--kind", "web")
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    assert line.startswith(f"source {name} (web) write key: ")
    write_key = line.rsplit(" ", 1)[1]
    assert len(write_key) == 32

    created = _nerve(tmp_path, "keys", "create", "--role", "analyst")
    [line] = created.stdout.splitlines()
    assert line.startswith("analyst key (shown once): nrv_key_")


def test_user_text_is_printed_as_it_is_not_as_markup(tmp_path: Path) -> None:
    name = "[bold]kiosk[/bold] :fire:"
    result = _nerve(tmp_path, "sources", "create", name, "--kind", "kiosk")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"source {name} (kiosk)")


def test_human_errors_go_to_stderr(tmp_path: Path) -> None:
    result = _nerve(tmp_path, "keys", "create", "--role", "owner")
    assert result.returncode == 1 and result.stdout == ""
    assert "invalid_request: unknown role 'owner'" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("flows", "apply"), "Missing argument 'FILE'."),
        (("sources", "create", "web", "--kind", "web", "--colour", "red"), "No such option"),
        (("keys", "frobnicate"), "No such command"),
    ],
)
def test_a_usage_error_with_json_is_one_json_object(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = _nerve(tmp_path, *args, "--json")
    assert result.returncode == 2
    error = _one_json_object(result)["error"]
    assert error["code"] == "invalid_request" and message.lower() in error["message"].lower()


def test_an_unreachable_database_is_named_not_a_traceback(tmp_path: Path) -> None:
    unreachable = {"NERVE_DATABASE_URL": "postgresql+psycopg://nerve@127.0.0.1:9/nowhere"}
    as_json = _nerve(tmp_path, "dlq", "list", "--json", **unreachable)
    assert as_json.returncode == 1
    error = _one_json_object(as_json)["error"]
    assert error["code"] == "unavailable" and error["message"] == "cannot use the database"
    human = _nerve(tmp_path, "dlq", "list", **unreachable)
    assert human.returncode == 1 and human.stdout == ""
    assert "unavailable: cannot use the database" in human.stderr
    assert "Traceback" not in human.stderr
