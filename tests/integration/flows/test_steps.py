"""Every step of a run is recorded under the node that took it: branches and A/B splits with
the path taken (the variant, for analysis), waits under the wait node."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from starlette.testclient import TestClient

from tests.factories import make_shop
from tests.waiting import until

FLOW = {
    "name": "welcome",
    "trigger": {"event": "Signed Up"},
    "nodes": [
        {"id": "ab", "split": [{"percent": 50, "goto": "vip", "name": "short"},
                               {"percent": 50, "goto": "vip", "name": "long"}]},
        {"id": "vip", "branch": [{"when": "properties.plan == 'gold'", "goto": "pause"}]},
        {"id": "pause", "wait": "1s"},
        {"id": "hello", "action": "add_tag", "with": {"tag": "welcomed"}},
    ],
}  # fmt: skip


def test_splits_branches_and_waits_are_recorded_at_their_nodes(
    client: TestClient, engine: Engine
) -> None:
    shop = make_shop(engine, kinds=("web",))
    headers = {"Authorization": f"Bearer {shop.secret_key}"}
    published = client.post(
        "/api/v1/flows", params={"environment": "production"}, json=FLOW, headers=headers
    )
    assert published.status_code == 201
    for n in range(16):
        message = {"userId": f"u{n}", "event": "Signed Up", "properties": {"plan": "free"}}
        response = client.post("/v1/track", json=message, auth=(shop.write_keys["web"], ""))
        assert response.status_code == 200

    def completed() -> list[Any]:
        runs = client.get("/api/v1/flows/welcome/runs", headers=headers).json()["data"]
        return runs if len(runs) == 16 and all(r["status"] == "completed" for r in runs) else []

    variants = set()
    for run in until(completed):
        steps = client.get(f"/api/v1/runs/{run['id']}", headers=headers).json()["steps"]
        taken = [(s["kind"], s["node"]) for s in steps]
        assert taken == [("entered", None), ("split", "ab"), ("branched", "vip"),
                         ("waiting", "pause"), ("action", "hello"), ("completed", None)]  # fmt: skip
        split, branched = steps[1]["detail"], steps[2]["detail"]
        assert split["goto"] == "vip" and split["path"] in ("short", "long")
        assert branched == {"goto": "pause"}  # no case matched a free plan: the next node
        assert run["state"]["data"]["splits"] == {"ab": split["path"]}
        variants.add(split["path"])
    assert variants == {"short", "long"}  # 16 people: both variants but once in 32,768
