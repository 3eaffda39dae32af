"""Re-entry policies on the durable engine (real app, events sent with the write key): how many
runs a person's repeated triggers start. Time travel has its own re-entry code (see
tests/unit/flows/test_features.py); this is the one production runs."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from starlette.testclient import TestClient

from nerve.db.engine import write_transaction
from nerve.flows.models import FlowEntry
from tests.factories import Shop, make_shop
from tests.waiting import auth, until

_message_ids = itertools.count()


def _publish(client: TestClient, shop: Shop, reentry: Any) -> None:
    flow = {
        "name": "checkout_follow_up",
        "trigger": {"event": "Checkout Started", "key": "properties.cart_id", "reentry": reentry},
        "nodes": [{"id": "later", "wait": "1h"}],
    }
    response = client.post(
        "/api/v1/flows", params={"environment": "production"}, json=flow, headers=auth(shop)
    )
    assert response.status_code == 201, response.text


class Shopper:
    """A person who starts checkouts; `checkout` answers the carts of all their runs so far."""

    def __init__(self, client: TestClient, shop: Shop, user: str) -> None:
        self.client, self.shop, self.user = client, shop, user
        self.sent = 0
        self.person = ""

    def checkout(self, *carts: str) -> list[str]:
        for cart in carts:
            message = {
                "userId": self.user,
                "event": "Checkout Started",
                "messageId": f"m-{next(_message_ids)}",
                "properties": {"cart_id": cart},
            }
            response = self.client.post(
                "/v1/track", json=message, auth=(self.shop.write_keys["web"], "")
            )
            assert response.status_code == 200
        self.sent += len(carts)
        # An event shows in the timeline once resolved, in the same transaction that let it
        # start a run or not.
        self.person = until(self._lookup)
        until(lambda: len(self._get(f"/api/v1/profiles/{self.person}/timeline")) == self.sent)
        runs = self._get("/api/v1/flows/checkout_follow_up/runs")
        return sorted(run["trigger_key"] for run in runs if run["profile_id"] == self.person)

    def _lookup(self) -> str | None:
        response = self.client.get(
            "/api/v1/profiles",
            params={"identifier": f"user_id:{self.user}"},
            headers=auth(self.shop),
        )
        return response.json()["id"] if response.status_code == 200 else None  # type: ignore[no-any-return]

    def _get(self, path: str) -> list[dict[str, Any]]:
        response = self.client.get(path, params={"limit": 1000}, headers=auth(self.shop))
        assert response.status_code == 200, response.text
        return response.json()["data"]  # type: ignore[no-any-return]


def _entered_earlier(engine: Engine, person: str, by: timedelta) -> None:
    """Move the person's entry back in time, as if it were made `by` ago."""
    with write_transaction(engine) as conn:
        for key, entered_at in conn.execute(
            select(FlowEntry.entry_key, FlowEntry.entered_at).where(FlowEntry.profile_id == person)
        ).all():
            conn.execute(
                update(FlowEntry)
                .where(FlowEntry.profile_id == person, FlowEntry.entry_key == key)
                .values(entered_at=entered_at - by)
            )


@pytest.mark.parametrize(
    ("reentry", "anna", "ben"),
    [
        ("once", ["c1"], ["c1"]),
        ("once_per_key", ["c1", "c2"], ["c1"]),
        ("always", ["c1", "c1", "c1", "c2"], ["c1"]),
    ],
)
def test_repeated_checkouts_start_runs_by_the_policy(
    client: TestClient, engine: Engine, reentry: str, anna: list[str], ben: list[str]
) -> None:
    shop = make_shop(engine, kinds=("web",))
    _publish(client, shop, reentry)
    assert Shopper(client, shop, "anna").checkout("c1", "c1", "c1", "c2") == anna
    assert Shopper(client, shop, "ben").checkout("c1") == ben  # a key counts per person


def test_every_days_allows_one_run_per_person_in_that_many_days(
    client: TestClient, engine: Engine
) -> None:
    shop = make_shop(engine, kinds=("web",))
    _publish(client, shop, {"every_days": 7})
    anna = Shopper(client, shop, "anna")
    assert anna.checkout("c1") == ["c1"]
    assert anna.checkout("c2") == ["c1"]  # the same day, another cart
    _entered_earlier(engine, anna.person, timedelta(days=6, hours=23))
    assert anna.checkout("c3") == ["c1"]  # an hour short of seven days
    _entered_earlier(engine, anna.person, timedelta(hours=2))
    assert anna.checkout("c4") == ["c1", "c4"]  # seven days and an hour after c1
    assert anna.checkout("c5") == ["c1", "c4"]  # seven days from c4 now
    assert Shopper(client, shop, "ben").checkout("c6") == ["c6"]
