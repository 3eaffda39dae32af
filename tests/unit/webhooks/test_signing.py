"""Nerve's signatures are the Standard Webhooks ones: the published example signs the same, the
official library verifies them, and secrets have the specified form."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from nerve.webhooks import signing

# The example of the Standard Webhooks reference libraries' tests (and Svix's documentation).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MESSAGE_ID, TIMESTAMP, BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", b'{"test": 2432232314}'


def test_the_published_example_signs_the_same() -> None:
    expected = Webhook(SECRET).sign(MESSAGE_ID, datetime.fromtimestamp(int(TIMESTAMP), UTC),
                                    BODY.decode())  # fmt: skip
    assert signing.signature([SECRET], MESSAGE_ID, TIMESTAMP, BODY) == expected
    assert expected == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_every_secret_signs_and_each_verifies() -> None:
    new, old = signing.new_secret(), signing.new_secret()
    now = str(int(time.time()))
    header = signing.signature([new, old], "step-1", now, BODY)
    assert header.count("v1,") == 2 and header.index(" ") > 0
    headers = {"webhook-id": "step-1", "webhook-timestamp": now, "webhook-signature": header}
    for secret in (new, old):
        Webhook(secret).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(BODY + b" ", headers)


def test_a_new_secret_is_whsec_and_base64_of_24_to_64_random_bytes() -> None:
    secrets = {signing.new_secret() for _ in range(100)}
    assert len(secrets) == 100
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert 24 <= len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) <= 64


@pytest.mark.parametrize(
    "secret", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_c2hvcnQ="]
)
def test_what_is_not_a_signing_secret_is_refused(secret: str) -> None:
    with pytest.raises(signing.InvalidSecret):
        signing.signature([secret], MESSAGE_ID, TIMESTAMP, BODY)
