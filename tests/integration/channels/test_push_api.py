"""`/v1/push/...` with a source's write key: a subscription registered (again: updated, under the
signed-in id), refused with the field for what cannot be used, removed — its owner's push
consents withdrawn with the last one — and the write key required throughout."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from nerve.consent import service as consent
from tests.factories import Shop
from tests.integration.channels.push_services import Browser
from tests.integration.channels.push_steps import CONSENT_TEXT, ready, subscribe, subscriptions
from tests.waiting import until

ENDPOINT = "https://127.0.0.1:9/push/anna"


def _web(endpoint: str = ENDPOINT, **more: Any) -> dict[str, Any]:
    return {"subscription": Browser().subscription(endpoint), "anonymousId": "anon-1", **more}


def _refused(client: TestClient, shop: Shop, body: Any, path: str) -> str:
    response = client.post("/v1/push/subscriptions", json=body, auth=(shop.write_keys["web"], ""))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and set(error) == {"code", "message", "details"}
    assert path in str(error["details"]), error
    return f"{error['message']} {error['details']}"


def test_a_subscription_registered_again_is_updated_under_the_signed_in_id(
    client: TestClient, shop: Shop, engine: Engine
) -> None:
    body = _web()
    first = subscribe(client, shop, body)
    assert (first["identifier"], first["created"], first["kind"]) == ("anonymous_id:anon-1",
                                                                      True, "webpush")  # fmt: skip
    again = subscribe(client, shop, {**body, "userId": "anna"}, status=200)
    assert again["id"] == first["id"] and again["identifier"] == "user_id:anna"
    [row] = subscriptions(engine)
    assert (row.identifier_type, row.identifier_value) == ("user_id", "anna")
    assert row.keys == body["subscription"]["keys"]


def _bad_key(size: int) -> str:
    from nerve.channels.push.vapid import b64url

    return b64url(b"\x04" + b"\x01" * (size - 1))


@pytest.mark.parametrize(
    ("change", "path", "says"),
    [
        ({"subscription": {"endpoint": "http://127.0.0.1:9/p"}}, "endpoint", "https"),
        ({"subscription": {"endpoint": "https://10.1.2.3/p"}}, "endpoint", "private"),
        ({"subscription": {"endpoint": "not a url"}}, "endpoint", "URL"),
        ({"subscription": {"keys": {"p256dh": _bad_key(33)}}}, "p256dh", "P-256"),
        ({"subscription": {"keys": {"p256dh": _bad_key(65)}}}, "p256dh", "P-256"),
        ({"subscription": {"keys": {"auth": "c2hvcnQ"}}}, "auth", "16-octet"),
        ({"anonymousId": None}, "userId", "userId or anonymousId"),
        ({"topics": ["offers"]}, "consent_text", "consent_text"),
        ({"topics": ["nope"], "consent_text": CONSENT_TEXT}, "topics", "no push topic"),
        ({"kind": "fcm"}, "token", "token"),
        ({"kind": "fcm", "subscription": None, "token": "a b"}, "token", "FCM"),
        ({"colour": "red"}, "colour", "Extra inputs"),
    ],
)
def test_bad_input_is_refused_with_the_field_and_nothing_is_kept(
    client: TestClient, shop: Shop, engine: Engine, change: dict[str, Any], path: str, says: str
) -> None:
    ready(client, shop, engine, key=False)
    body = _web()
    for name, value in change.items():
        if name == "subscription" and isinstance(value, dict):
            keys = {**body["subscription"]["keys"], **value.get("keys", {})}
            body["subscription"] = {**body["subscription"], **value, "keys": keys}
        else:
            body[name] = value
    assert says in _refused(client, shop, body, path)
    assert subscriptions(engine) == []


def test_the_write_key_is_required(client: TestClient, shop: Shop) -> None:
    for method, path in (("POST", "/v1/push/subscriptions"), ("DELETE", "/v1/push/subscriptions"),
                         ("GET", "/v1/push/vapid-public-key")):  # fmt: skip
        body = _web() if method != "GET" else None
        anonymous = client.request(method, path, json=body)
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["code"] == "missing_write_key"
        wrong = client.request(method, path, json=body, auth=("not-a-key", ""))
        assert wrong.json()["error"]["code"] == "invalid_write_key"


def test_removing_the_last_subscription_withdraws_its_owners_push_consents(
    client: TestClient, shop: Shop, engine: Engine
) -> None:
    ready(client, shop, engine, key=False)
    given: dict[str, Any] = {"topics": ["offers"], "consent_text": CONSENT_TEXT}
    subscribe(client, shop, _web(**given))
    subscribe(client, shop, _web("https://127.0.0.1:9/push/second", **given))
    key = (shop.write_keys["web"], "")

    def remove(body: dict[str, Any]) -> dict[str, Any]:
        response = client.request("DELETE", "/v1/push/subscriptions", json=body, auth=key)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    assert remove({"endpoint": ENDPOINT}) == {"removed": True, "withdrawn": []}
    assert remove({"endpoint": ENDPOINT}) == {"removed": False, "withdrawn": []}
    last = remove({"endpoint": "https://127.0.0.1:9/push/second"})
    assert last == {"removed": True, "withdrawn": ["offers"]}
    with engine.connect() as conn:
        [record] = consent.records(conn, shop.workspace_id, ["anonymous_id:anon-1"])
    assert record["status"] == "unsubscribed" and record["consent_text"] == CONSENT_TEXT
    neither = client.request("DELETE", "/v1/push/subscriptions", json={}, auth=key)
    assert neither.status_code == 400 and neither.json()["error"]["code"] == "invalid_request"
    assert subscriptions(engine) == []


def test_an_erased_persons_browser_does_not_bring_them_back(
    client: TestClient, shop: Shop, engine: Engine
) -> None:
    """As at ingest: a subscription under an erased user id is refused until they sign up
    again; nothing is kept."""
    identify = {"userId": "erin", "traits": {"email": "erin@example.com"}}
    assert client.post("/v1/identify", json=identify,
                       auth=(shop.write_keys["web"], "")).status_code == 200  # fmt: skip
    headers = {"Authorization": f"Bearer {shop.secret_key}"}
    person = until(lambda: (found := client.get("/api/v1/profiles", headers=headers,
                                                params={"identifier": "user_id:erin"})
                            ).status_code == 200 and found.json())  # fmt: skip
    assert client.delete(f"/api/v1/profiles/{person['id']}",
                         headers=headers).status_code == 204  # fmt: skip
    refused = client.post("/v1/push/subscriptions", json=_web(userId="erin"),
                          auth=(shop.write_keys["web"], ""))  # fmt: skip
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "conflict" and "erased" in refused.text
    assert subscriptions(engine) == []
