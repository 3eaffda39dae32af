"""Broadcast tests run the real app with its embedded worker, the throttle set per test."""

from __future__ import annotations

import pytest

from nerve.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Fast enough that a test of a few thousand members takes a second or two.
    return settings.model_copy(update={"broadcast_runs_per_second": 5000})
