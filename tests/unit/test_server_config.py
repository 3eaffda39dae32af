"""uvicorn's options from the settings: the protocol's limits, keep-alive, and a connection cap
that fits the open-files limit (raised toward what it needs, when the hard limit allows)."""

from __future__ import annotations

import resource
from collections.abc import Iterator

import pytest

from nerve.server import config
from nerve.settings import Settings


def _settings(**values: object) -> Settings:
    return Settings(database_url="sqlite:///unused.db", _env_file=None, **values)  # type: ignore[call-arg, arg-type]


@pytest.fixture
def open_files_limit() -> Iterator[tuple[int, int]]:
    """The process's limit, restored after the test (only the soft one is changed: lowering
    the hard limit could not be undone without privileges)."""
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)
    yield limit
    resource.setrlimit(resource.RLIMIT_NOFILE, limit)


def test_the_settings_become_the_protocols_limits_and_uvicorns_keep_alive() -> None:
    settings = _settings(
        header_timeout_seconds=3,
        body_timeout_seconds=7,
        max_header_bytes=8192,
        max_connections=50,
        keep_alive_timeout_seconds=9,
    )
    options = config.server_options(settings)
    limits = options["http"].keywords["limits"]
    assert (limits.header_timeout, limits.body_timeout) == (3, 7)
    assert (limits.max_header_bytes, limits.max_connections) == (8192, 50)
    assert limits.max_open > limits.max_connections
    assert options["timeout_keep_alive"] == 9


def test_a_cap_beyond_the_open_files_limit_is_lowered_to_fit() -> None:
    limits = config.connection_limits(_settings(max_connections=1000), room=700)
    assert (limits.max_connections, limits.max_open) == (700, 700)
    kept = config.connection_limits(_settings(max_connections=500), room=700)
    assert (kept.max_connections, kept.max_open) == (500, 700)


def test_a_low_soft_limit_is_raised_toward_what_the_cap_needs(
    open_files_limit: tuple[int, int],
) -> None:
    _, hard = open_files_limit
    if hard != resource.RLIM_INFINITY and hard < 2048:
        pytest.skip(f"the hard limit ({hard}) leaves no room to raise a soft one")
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
    options = config.server_options(_settings(max_connections=600))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    reserved = 64 + 3 * 2 * 10  # the default pool of 10, and its bursts
    assert soft == 2 * 600 + reserved
    assert options["http"].keywords["limits"].max_open == 2 * 600
