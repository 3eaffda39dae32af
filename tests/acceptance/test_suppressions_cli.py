"""`nerve suppressions` as an operator uses it with a running server: the old provider's list
imported from CSV (the bad line named), exported without an address in it, a relay's bounce
posted over HTTP, the bounce mailbox read by the server's worker and by hand, an address taken
off, and a non-admin key refused."""

from __future__ import annotations

import csv
import io
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.acceptance.conftest import NERVE, NerveProcess
from tests.bounces import dsn

pytestmark = pytest.mark.slow


def _maildir(root: Path) -> Path:
    for part in ("new", "cur", "tmp"):
        (root / "Maildir" / part).mkdir(parents=True, exist_ok=True)
    return root / "Maildir"


def _reasons(nerve: NerveProcess) -> list[str]:
    return sorted(row["reason"] for row in nerve.cli("suppressions", "export")["data"])


def test_the_suppression_list_from_the_command_line(nerve: NerveProcess, tmp_path: Path) -> None:
    maildir = _maildir(tmp_path)
    (maildir / "new" / "1.M1.mx").write_bytes(dsn("<a@shop.example>", "first@example.com"))
    nerve.env["NERVE_BOUNCE_MAILDIR"] = str(maildir)
    nerve.start()
    until = time.monotonic() + 30  # the server's worker reads the mailbox as it starts
    while not list((maildir / "cur").iterdir()):
        assert time.monotonic() < until, "the worker did not read the bounce mailbox"
        time.sleep(0.2)
    assert _reasons(nerve) == ["hard_bounce"]

    (tmp_path / "old_esp.csv").write_text(
        "Email Address,reason\nanna@example.com,complaint\nben@,hard_bounce\ncleo@example.com,\n"
    )
    imported = nerve.cli("suppressions", "import", str(tmp_path / "old_esp.csv"))
    assert (imported["imported"], imported["unchanged"]) == (2, 0)
    assert [(r["line"], r["reason"]) for r in imported["rejected"]] == [
        (3, "not an email address: 'ben@'")]  # fmt: skip
    human = subprocess.run([NERVE, "suppressions", "export", "--output", "list.csv"],
                           cwd=tmp_path, env=nerve.env, capture_output=True, text=True,
                           timeout=60)  # fmt: skip
    assert human.returncode == 0 and "3 suppression(s) written to list.csv" in human.stdout
    exported = (tmp_path / "list.csv").read_text()
    assert "@" not in exported
    assert sorted(row["reason"] for row in csv.DictReader(io.StringIO(exported))) == [
        "complaint", "hard_bounce", "manual"]  # fmt: skip

    key = nerve.cli("keys", "create", "--role", "builder")["secret_key"]
    posted = httpx.post(f"{nerve.url}/api/v1/feedback", timeout=30,
                        headers={"Authorization": f"Bearer {key}"},
                        json={"type": "bounce", "email": "dora@example.com", "permanent": True,
                              "detail": "550 5.1.1 no such user"})  # fmt: skip
    assert posted.status_code == 200 and posted.json()["data"][0]["outcome"] == "suppressed"
    (maildir / "new" / "2.M2.mx").write_bytes(dsn("<b@shop.example>", "eve@example.com"))
    read = nerve.cli("suppressions", "read-bounces", "--maildir", str(maildir))
    assert read["unreadable"] == 0  # and handled, unless the worker's round came first
    assert sorted(p.name for p in (maildir / "cur").iterdir()) == ["1.M1.mx:2,S", "2.M2.mx:2,S"]
    assert _reasons(nerve).count("hard_bounce") == 3  # first, dora, eve

    removed = nerve.cli("suppressions", "remove", "Anna@Example.com")
    assert removed["reasons"] == ["complaint"] and len(removed["address_hash"]) == 64
    assert nerve.cli_error("suppressions", "remove", "anna@example.com")["code"] == "not_found"

    analyst = nerve.cli("keys", "create", "--role", "analyst")["secret_key"]
    refused = nerve.cli_error("suppressions", "import", str(tmp_path / "old_esp.csv"),
                              NERVE_API_KEY=analyst)  # fmt: skip
    assert refused["code"] == "forbidden"
    assert _reasons(nerve) == ["hard_bounce", "hard_bounce", "hard_bounce", "manual"]
