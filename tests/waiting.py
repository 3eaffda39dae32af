"""Driving a running Nerve from tests: the admin key header, and waiting for what the
background workers do."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.factories import Shop


def auth(shop: Shop) -> dict[str, str]:
    """The admin API's header for the shop's secret key."""
    return {"Authorization": f"Bearer {shop.secret_key}"}


def until(check: Callable[[], Any], seconds: float = 20, every: float = 0.05) -> Any:
    """Poll `check` every `every` s until it returns something truthy (returned), or fail
    after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(every)
    raise AssertionError("condition not reached in time")
