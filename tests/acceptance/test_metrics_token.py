"""A real `nerve serve` with NERVE_METRICS_TOKEN answers `/metrics` only to its bearer."""

from __future__ import annotations

import httpx
import pytest

from tests.acceptance.conftest import NerveProcess

pytestmark = pytest.mark.slow


def test_metrics_need_the_token_when_the_operator_sets_one(nerve: NerveProcess) -> None:
    nerve.env["NERVE_METRICS_TOKEN"] = "scrape-me-9d2"
    nerve.start()
    refused = httpx.get(f"{nerve.url}/metrics")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    scraped = httpx.get(f"{nerve.url}/metrics", headers={"Authorization": "Bearer scrape-me-9d2"})
    assert scraped.status_code == 200 and "nerve_events_accepted_total" in scraped.text
