"""`nerve secrets` as an operator uses it: a key made, a secret piped in (never an argument),
listed without its value, rotated to a new key, refused to a non-admin key."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.acceptance.conftest import NERVE, NerveProcess

pytestmark = pytest.mark.slow
VALUE = "smtp-pa55-7c1e"


def _run(nerve: NerveProcess, *args: str, stdin: str = "", **env: str) -> Any:
    result = subprocess.run(
        [NERVE, "secrets", *args, "--json"], input=stdin, capture_output=True, text=True,
        cwd=nerve.workdir, env=nerve.env | env, timeout=60,
    )  # fmt: skip
    [line] = result.stdout.splitlines()
    assert VALUE not in result.stdout + result.stderr
    return result.returncode, json.loads(line)


def test_secrets_from_the_command_line(nerve: NerveProcess) -> None:
    code, refused = _run(nerve, "set", "smtp.password", stdin=VALUE)
    assert code == 1 and "NERVE_SECRET_KEY" in refused["error"]["message"]
    _, made = _run(nerve, "new-key")
    key = made["secret_key"]
    code, stored = _run(nerve, "set", "smtp.password", stdin=VALUE + "\n", NERVE_SECRET_KEY=key)
    assert code == 0 and stored["name"] == "smtp.password"
    _, listed = _run(nerve, "list")
    assert [s["name"] for s in listed["data"]] == ["smtp.password"]

    _, second = _run(nerve, "new-key")
    code, rotated = _run(nerve, "rotate", NERVE_SECRET_KEY=f"{second['secret_key']},{key}")
    assert code == 0 and rotated == {"rotated": 1}

    analyst = nerve.cli("keys", "create", "--role", "analyst")["secret_key"]
    code, forbidden = _run(nerve, "list", NERVE_API_KEY=analyst)
    assert code == 1 and forbidden["error"]["code"] == "forbidden"
