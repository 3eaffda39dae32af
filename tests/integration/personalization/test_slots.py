"""The slots admin API: versions like flows, JSON or YAML, every problem with its path,
unknown segments refused at save, roles, delete; and impressions in the person's export and
gone with an erasure."""

from __future__ import annotations

import yaml
from sqlalchemy import Engine
from starlette.testclient import TestClient

from tests.factories import Shop, make_key
from tests.integration.personalization.conftest import (
    BANNER,
    admin,
    personalize,
    save_slot,
    settle,
    stats,
    track,
)


def test_each_change_is_a_version_and_an_equal_save_changes_nothing(
    client: TestClient, shop: Shop
) -> None:
    first = save_slot(client, shop, BANNER)
    assert (first["key"], first["kind"], first["version"], first["unchanged"]) == (
        "home_banner", "content", 1, False)  # fmt: skip
    again = save_slot(client, shop, BANNER, status=200)
    assert (again["version"], again["unchanged"]) == (1, True)
    retitled = BANNER | {"name": "Home banner (spring)"}
    as_yaml = client.post(
        "/api/v1/slots",
        content=yaml.safe_dump(retitled),
        headers={"Authorization": f"Bearer {shop.secret_key}", "Content-Type": "application/yaml"},
    )
    assert as_yaml.status_code == 201, as_yaml.text
    assert as_yaml.json()["version"] == 2
    detail = admin(client, shop.secret_key, "GET", "/api/v1/slots/home_banner").json()
    assert detail["version"] == 2 and detail["name"] == "Home banner (spring)"
    assert [v["version"] for v in detail["versions"]] == [1, 2]
    assert detail["definition"]["default"] == "winter_jacket"
    listed = admin(client, shop.secret_key, "GET", "/api/v1/slots").json()["data"]
    assert [(s["key"], s["version"]) for s in listed] == [("home_banner", 2)]

    gone = admin(client, shop.secret_key, "DELETE", "/api/v1/slots/home_banner")
    assert gone.status_code == 204
    assert admin(client, shop.secret_key, "GET", "/api/v1/slots/home_banner").status_code == 404
    asked = personalize(client, shop.write_keys["web"], anonymousId="a", slots="home_banner")
    assert asked["unknown_slots"] == ["home_banner"]


def test_problems_come_back_with_their_paths(client: TestClient, shop: Shop) -> None:
    broken = BANNER | {
        "default": "summer",
        "rules": [{"when": {"segment": "no_such_segment"}, "variant": "running_shoes"}],
    }
    refused = admin(client, shop.secret_key, "POST", "/api/v1/slots", json=broken)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_slot"
    assert refused.json()["error"]["details"] == [
        {"path": "default", "reason": "no variant 'summer'"}
    ]
    unknown_segment = BANNER | {
        "rules": [{"when": {"not": {"segment": "no_such_segment"}}, "variant": "running_shoes"}]
    }
    refused = admin(client, shop.secret_key, "POST", "/api/v1/slots", json=unknown_segment)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["details"] == [
        {"path": "rules.0.when.not.segment", "reason": "no segment 'no_such_segment'"}
    ]
    not_yaml = client.post(
        "/api/v1/slots",
        content=b"key: [",
        headers={"Authorization": f"Bearer {shop.secret_key}", "Content-Type": "application/yaml"},
    )
    assert not_yaml.status_code == 400
    assert not_yaml.json()["error"]["details"][0]["path"] == "(file)"
    assert admin(client, shop.secret_key, "GET", "/api/v1/slots").json()["data"] == []


def test_builders_write_analysts_read(client: TestClient, engine: Engine, shop: Shop) -> None:
    builder, analyst = make_key(engine, shop.workspace_id, "builder"), make_key(
        engine, shop.workspace_id, "analyst")  # fmt: skip
    assert admin(client, builder, "POST", "/api/v1/slots", json=BANNER).status_code == 201
    assert admin(client, analyst, "POST", "/api/v1/slots", json=BANNER).status_code == 403
    assert admin(client, analyst, "GET", "/api/v1/slots/home_banner").status_code == 200
    assert admin(client, analyst, "DELETE", "/api/v1/slots/home_banner").status_code == 403
    staff = make_key(engine, shop.workspace_id, "staff")
    assert admin(client, staff, "GET", "/api/v1/slots").status_code == 403


def test_impressions_are_in_the_export_and_gone_after_erasure(
    client: TestClient, engine: Engine, shop: Shop
) -> None:
    save_slot(client, shop, BANNER)
    track(client, shop.write_keys["web"], "identify", {"anonymousId": "a9", "userId": "anna"})
    settle(engine)
    personalize(client, shop.write_keys["web"], userId="anna", slots="home_banner")
    personalize(client, shop.write_keys["web"], anonymousId="a9", slots="home_banner")
    personalize(client, shop.write_keys["web"], anonymousId="stranger", slots="home_banner")
    rows = stats(client, shop, "home_banner", 3)
    assert [(r["variant"], r["impressions"], r["people"]) for r in rows] == [
        ("winter_jacket", 3, 1)
    ]
    profile = admin(client, shop.secret_key, "GET", "/api/v1/profiles",
                    params={"identifier": "user_id:anna"}).json()["id"]  # fmt: skip
    export = admin(client, shop.secret_key, "GET", f"/api/v1/profiles/{profile}/export").json()
    shown = export["slot_impressions"]
    assert [(s["slot_key"], s["variant"]) for s in shown] == [("home_banner", "winter_jacket")] * 2
    erased = admin(client, shop.secret_key, "DELETE", f"/api/v1/profiles/{profile}")
    assert erased.status_code == 204, erased.text
    left = stats(client, shop, "home_banner", 1)
    assert [(r["impressions"], r["people"]) for r in left] == [(1, 0)]  # the stranger's
