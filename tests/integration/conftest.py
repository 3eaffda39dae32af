"""An in-process API client (real app, real database) and a shop to talk to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from nerve.app import create_app
from nerve.settings import Settings
from tests.factories import Shop, make_shop


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def shop(engine: Engine) -> Shop:
    return make_shop(engine)
