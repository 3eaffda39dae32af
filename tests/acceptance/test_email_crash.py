"""kill -9 of a worker while the SMTP server holds its mail: the message arrives at most twice,
both copies with the same Message-ID, and the log says sent once."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.acceptance.conftest import NERVE, NerveProcess
from tests.smtp import SmtpSink

pytestmark = pytest.mark.slow


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    sink = SmtpSink(hold_first=True)
    yield sink
    sink.close()


def _worker(nerve: NerveProcess) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [NERVE, "worker"], cwd=nerve.workdir, env=nerve.env, stderr=subprocess.DEVNULL
    )


def test_a_worker_killed_mid_send_repeats_the_same_message_at_most(
    nerve: NerveProcess, tmp_path: Path, sink: SmtpSink
) -> None:
    nerve.env |= {"NERVE_EMBEDDED_WORKER": "false", "NERVE_FLOW_LEASE_SECONDS": "3",
                  "NERVE_SMTP_URL": sink.url, "NERVE_EMAIL_FROM": "Shop <hi@shop.example>"}  # fmt: skip
    nerve.start()
    write_key = nerve.cli("sources", "create", "web", "--kind", "web")["write_key"]
    headers = {"Authorization": f"Bearer {nerve.cli('keys', 'create')['secret_key']}"}
    (tmp_path / "t.yaml").write_text("name: hello\nsubject: Hello\nhtml: <p>Hello</p>\n")
    nerve.cli("templates", "apply", str(tmp_path / "t.yaml"))
    flow = {"name": "mail_crash", "trigger": {"event": "Signed Up"},
            "nodes": [{"id": "hello", "action": "send_email", "retries": 5,
                       "with": {"template": "hello", "transactional": True}}]}  # fmt: skip
    (tmp_path / "flow.yaml").write_text(yaml.safe_dump(flow))
    nerve.cli("flows", "apply", str(tmp_path / "flow.yaml"), "--env", "production")

    first = _worker(nerve)
    try:
        message = {"userId": "u1", "event": "Signed Up",
                   "context": {"traits": {"email": "u1@example.com"}}}  # fmt: skip
        sent = httpx.post(f"{nerve.url}/v1/track", json=message, auth=(write_key, ""))
        assert sent.status_code == 200
        assert sink.first_arrived(30), "the mail never reached the SMTP server"
        first.send_signal(signal.SIGKILL)  # the server has the mail; its 250 never came back
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    sink.release()

    second = _worker(nerve)
    logged: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            logged = httpx.get(f"{nerve.url}/api/v1/messages", headers=headers).json()["data"]
            if logged and logged[0]["status"] == "sent":
                break
            time.sleep(0.2)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(20)
    assert [m["status"] for m in logged] == ["sent"]
    copies = sink.received
    assert 1 <= len(copies) <= 2
    assert {mail["Message-ID"] for mail in copies} == {logged[0]["message_id"]}
