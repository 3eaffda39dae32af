"""GDPR export and erasure: after an erase no table holds the person's data."""

from __future__ import annotations

from sqlalchemy import Engine, select, text
from starlette.testclient import TestClient

from nerve.audit.models import AuditRecord
from nerve.db.engine import write_transaction
from nerve.db.models import metadata
from nerve.privacy.service import is_erased
from tests.factories import make_shop
from tests.integration.profiles.test_identity import _get, _send, settle

ANNA = (
    "anna-erase-42",
    "phone-erase-1",
    "laptop-erase-1",
    "anna.erase@example.com",
    "+4915112345678",
)


def _scan(engine: Engine, needles: tuple[str, ...]) -> list[str]:
    """Every table, every row, as text: where does any needle still appear?"""
    hits = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                flat = " ".join(str(value) for value in row)
                hits += [f"{table.name}: {n}" for n in needles if n.lower() in flat.lower()]
    return hits


def test_export_then_erase_leaves_nothing_but_a_keyed_hash(
    client: TestClient, engine: Engine
) -> None:
    shop = make_shop(engine, kinds=("app", "web"))
    user, phone_device, laptop, email, phone = ANNA
    _send(
        client,
        shop,
        "app",
        "track",
        {
            "anonymousId": phone_device,
            "event": "Product Viewed",
            "properties": {"category": "Trail"},
        },
    )
    _send(
        client,
        shop,
        "web",
        "identify",
        {
            "anonymousId": laptop,
            "userId": user,
            "traits": {"email": email.upper(), "phone": phone, "name": "Anna"},
        },
    )
    _send(client, shop, "app", "identify", {"anonymousId": phone_device, "userId": user})
    _send(
        client,
        shop,
        "web",
        "track",
        {
            "userId": user,
            "event": "Order Completed",
            "properties": {"order_id": "erase-o-1", "total": 50},
        },
    )
    _send(client, shop, "web", "track", {"userId": "bystander", "event": "Product Viewed"})
    settle(engine)
    person = _get(client, shop, "/api/v1/profiles", identifier=f"email:{email}")

    exported = _get(client, shop, f"/api/v1/profiles/{person['id']}/export")
    assert len(exported["events"]) == 4 and exported["orders"][0]["order_id"] == "erase-o-1"
    assert {i["value"] for i in exported["profile"]["identifiers"]} == {
        user,
        phone_device,
        laptop,
        email,
        phone,
    }
    assert {h["name"] for h in exported["trait_history"]} >= {"email", "phone", "name"}
    assert _scan(engine, ANNA), "the scan must find the data before the erase"

    response = client.delete(
        f"/api/v1/profiles/{person['id']}", headers={"Authorization": f"Bearer {shop.secret_key}"}
    )
    assert response.status_code == 204
    assert _scan(engine, ANNA) == []
    assert (
        client.get(
            f"/api/v1/profiles/{person['id']}",
            headers={"Authorization": f"Bearer {shop.secret_key}"},
        ).status_code
        == 404
    )
    with write_transaction(engine) as conn:
        assert is_erased(conn, shop.workspace_id, "email", email)
        assert is_erased(conn, shop.workspace_id, "phone", phone)
        assert not is_erased(conn, shop.workspace_id, "email", "someone.else@example.com")
        [audit] = conn.execute(  # besides the shop's key being made (api_key.created)
            select(AuditRecord.actor, AuditRecord.action, AuditRecord.target).where(
                AuditRecord.action.not_like("api_key.%")
            )
        ).all()
        assert (
            audit.action == "profile.erased"
            and audit.target == person["id"]
            and audit.actor.startswith("key_")
        )
        assert conn.scalar(text("SELECT count(*) FROM events")) == 1  # the bystander's event stays
