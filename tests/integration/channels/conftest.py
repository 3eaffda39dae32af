"""The channels' tests run against a real SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from nerve.app import create_app
from nerve.secrets.vault import new_key
from nerve.settings import Settings
from tests.smtp import SmtpSink

VAULT_KEY = new_key()


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    yield sink
    sink.close()


@pytest.fixture
def client(settings: Settings, sink: SmtpSink) -> Iterator[TestClient]:
    mailing = settings.model_copy(
        update={"smtp_url": SecretStr(sink.url), "email_from": "Example Shop <hello@shop.example>",
                "secret_key": SecretStr(VAULT_KEY),
                "shop_imprint": "Example Shop GmbH, Hauptstr. 1, Berlin"}
    )  # fmt: skip
    with TestClient(create_app(mailing)) as client:
        yield client
