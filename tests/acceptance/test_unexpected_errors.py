"""Against a running server whose database broke underneath it: an unexpected exception is a
JSON 500 in the contract's shape naming a request id, logged once, with its traceback, under
that id — on an admin route and on the tracking hot path alike."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.acceptance.conftest import NerveProcess

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_an_unexpected_error_is_a_json_500_logged_once_under_its_request_id(
    tmp_path: Path, log_format: str
) -> None:
    database = tmp_path / "nerve.db"
    nerve = NerveProcess(f"sqlite:///{database}", tmp_path)
    nerve.env["NERVE_LOG_FORMAT"] = log_format
    try:
        secret = nerve.cli("keys", "create")["secret_key"]
        write_key = nerve.cli("sources", "create", "web", "--kind", "web")["write_key"]
        nerve.start()
        with sqlite3.connect(database) as conn:  # tables gone: every query on them fails
            conn.execute("DROP TABLE flows")
            conn.execute("DROP TABLE sources")

        admin = httpx.get(
            f"{nerve.url}/api/v1/flows",
            headers={"Authorization": f"Bearer {secret}", "X-Request-ID": "proxy-42"},
        )
        tracking = httpx.post(
            f"{nerve.url}/v1/track",
            json={"userId": "anna", "event": "Product Viewed"},
            auth=(write_key, ""),
        )
    finally:
        nerve.stop()

    log = (tmp_path / "serve.log").read_text()
    request_ids = []
    for response in (admin, tracking):
        assert response.status_code == 500, response.text
        assert response.headers["content-type"] == "application/json"
        error = response.json()["error"]
        assert set(error) == {"code", "message", "details"}
        assert error["code"] == "internal_error" and error["message"]
        assert "sources" not in error["message"] and "flows" not in error["message"]
        request_id = error["details"]["request_id"]
        assert response.headers["x-request-id"] == request_id
        assert log.count(request_id) == 1, log
        request_ids.append(request_id)
    assert request_ids[0] == "proxy-42"  # a proxy's request id is kept, so logs correlate
    assert log.count("request_failed") == 2, log
    assert "Traceback (most recent call last)" in log, log
    assert "no such table: flows" in log and "no such table: sources" in log, log
    assert "Exception in ASGI application" not in log  # the server did not log it again
