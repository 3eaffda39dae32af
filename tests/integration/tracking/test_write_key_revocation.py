"""A revoked or rotated write key is refused by every server process within a second, although
each process caches write keys (two apps on one database stand for two processes)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from nerve.app import create_app
from nerve.db.engine import write_transaction
from nerve.settings import Settings
from nerve.workspaces import service as workspace_service
from tests.factories import Shop

# The promise is one second; the slack is for the test's own polling and a busy machine.
PROMISE, SLACK = 1.0, 0.25


@pytest.fixture
def second_process(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def _track(client: TestClient, write_key: str) -> int:
    message = {"userId": "42", "event": "Product Viewed"}
    return client.post("/v1/track", json=message, auth=(write_key, "")).status_code


def _seconds_until_refused(servers: list[TestClient], write_key: str) -> list[float]:
    """How long after now each server starts refusing `write_key` (fails after 3 s)."""
    start = time.monotonic()
    refused: dict[int, float] = {}
    while len(refused) < len(servers) and time.monotonic() - start < 3:
        for index, server in enumerate(servers):
            if index not in refused and _track(server, write_key) == 401:
                refused[index] = time.monotonic() - start
        time.sleep(0.02)
    assert len(refused) == len(servers), "a server still accepts the key after 3 s"
    return [refused[index] for index in range(len(servers))]


def test_a_revoked_write_key_is_refused_by_every_process_within_a_second(
    client: TestClient, second_process: TestClient, shop: Shop, engine: Engine
) -> None:
    servers = [client, second_process]
    write_key = shop.write_keys["web"]
    assert [_track(server, write_key) for server in servers] == [200, 200]  # both cached it

    with write_transaction(engine) as conn:
        workspace_service.revoke_write_key(conn, shop.workspace_id, "web", actor="test")
    assert max(_seconds_until_refused(servers, write_key)) <= PROMISE + SLACK

    response = client.post("/v1/track", json={"event": "E"}, auth=(write_key, ""))
    assert response.json()["error"]["code"] == "invalid_write_key"
    assert _track(client, shop.write_keys["app"]) == 200  # the other heads go on


def test_a_rotated_write_key_is_replaced_in_every_process_within_a_second(
    client: TestClient, second_process: TestClient, shop: Shop, engine: Engine
) -> None:
    servers = [client, second_process]
    old = shop.write_keys["web"]
    assert [_track(server, old) for server in servers] == [200, 200]

    with write_transaction(engine) as conn:
        rotated = workspace_service.rotate_write_key(conn, shop.workspace_id, "web", actor="test")
    assert max(_seconds_until_refused(servers, old)) <= PROMISE + SLACK
    assert [_track(server, rotated.write_key) for server in servers] == [200, 200]
    assert rotated.id == shop.source_ids["web"]  # same source: its events stay together


def test_rotating_a_revoked_source_lets_its_head_send_again_with_the_new_key(
    client: TestClient, shop: Shop, engine: Engine
) -> None:
    with write_transaction(engine) as conn:
        workspace_service.revoke_write_key(conn, shop.workspace_id, "pos", actor="test")
        rotated = workspace_service.rotate_write_key(conn, shop.workspace_id, "pos", actor="test")
    assert _track(client, rotated.write_key) == 200
    assert _track(client, shop.write_keys["pos"]) == 401
