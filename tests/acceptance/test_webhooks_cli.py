"""Signed webhooks as a shop sets them up: `nerve webhooks create`, a flow naming the endpoint
applied with `nerve flows apply`, `nerve serve` delivering requests its receiver verifies with
the official `standardwebhooks` library — before and after `nerve webhooks rotate` — then a
410 Gone that disables the endpoint, in the log and in `nerve webhooks list`, until
`nerve webhooks enable`. No secret ever reaches the log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook

from tests.acceptance.conftest import NerveProcess
from tests.receivers import Receiver
from tests.waiting import until

pytestmark = pytest.mark.slow

FLOW = """
name: crm_sync
trigger: {event: Signed Up}
nodes:
  - id: to_crm
    action: webhook
    with: {endpoint: crm, body: {list: vip}}
    retries: 0
"""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def test_a_shop_signs_rotates_and_loses_its_receiver(
    nerve: NerveProcess, receiver: Receiver, tmp_path: Path
) -> None:
    nerve.env["NERVE_SECRET_KEY"] = nerve.cli("secrets", "new-key")["secret_key"]
    admin = {"Authorization": f"Bearer {nerve.cli('keys', 'create')['secret_key']}"}
    write_key = nerve.cli("sources", "create", "web", "--kind", "web")["write_key"]
    unknown = tmp_path / "flow.yaml"
    unknown.write_text(FLOW)
    refused = nerve.cli_error("flows", "apply", str(unknown), "--env", "production")
    assert refused["details"][0]["path"] == "nodes[0].with.endpoint"

    first = nerve.cli("webhooks", "create", "crm", f"{receiver.url}/crm")["secret"]
    nerve.cli("flows", "apply", str(unknown), "--env", "production")
    nerve.start()

    def sign_up(user: str) -> None:
        response = httpx.post(f"{nerve.url}/v1/track", auth=(write_key, ""),
                              json={"userId": user, "event": "Signed Up"})  # fmt: skip
        assert response.status_code == 200, response.text

    sign_up("anna")
    [anna] = until(lambda: receiver.deliveries)
    assert Webhook(first).verify(anna.raw, anna.headers)["data"] == {"list": "vip"}

    second = nerve.cli("webhooks", "rotate", "crm")["secret"]
    sign_up("ben")
    ben = until(lambda: len(receiver.deliveries) == 2 and receiver.deliveries[1])
    for secret in (first, second):
        Webhook(secret).verify(ben.raw, ben.headers)

    receiver.fail_with = 410
    sign_up("cleo")
    until(lambda: httpx.get(f"{nerve.url}/api/v1/dead-letters", headers=admin).json()["data"])
    [endpoint] = nerve.cli("webhooks", "list")["data"]
    assert endpoint["status"] == "disabled" and "410 Gone" in endpoint["disabled_reason"]
    assert nerve.cli("webhooks", "enable", "crm")["status"] == "enabled"
    nerve.stop()

    log = (tmp_path / "serve.log").read_text()
    assert "webhook_endpoint_disabled" in log and "endpoint=crm" in log, log
    for secret in (first, second):
        assert secret.removeprefix("whsec_") not in log
