"""A segment synced to a signed webhook on a real loopback receiver: adds when people enter,
removals when they leave, hashes of the normalised identifiers, verified with the
`standardwebhooks` library; nobody without the consent topic is ever sent; a receiver that
fails first loses nothing, and the cursor moves only once a batch was taken."""

from __future__ import annotations

from sqlalchemy import Engine, update
from standardwebhooks import Webhook
from starlette.testclient import TestClient

from nerve.audiences.models import AudienceSync
from nerve.consent import service as consent
from nerve.db.base import utcnow
from nerve.db.engine import write_transaction
from tests.factories import Shop
from tests.integration.audiences.conftest import (
    audience,
    consent_to_ads,
    endpoint,
    members,
    person,
    segment,
    sha,
    status,
)
from tests.receivers import Receiver
from tests.waiting import until

ANNA_EMAIL, ANNA_PHONE = sha("anna@example.com"), sha("4915112345678")


def test_entries_and_exits_are_sent_signed_and_hashed_with_consent_only(
    client: TestClient, shop: Shop, receiver: Receiver
) -> None:
    secret = endpoint(client, shop, f"{receiver.url}/audiences")
    segment(client, shop)
    consent_to_ads(client, shop, "anna@example.com")
    made = audience(client, shop, consent_topic="ads")
    assert made["status"] == "active" and made["consent_topic"] == "ads"

    person(client, shop, "bob", email="bob@example.com", phone="+4915199999999", tier="vip")
    person(client, shop, "anna", email=" Anna@Example.COM ", phone="+49 151 12345678",
           tier="vip")  # fmt: skip
    until(lambda: receiver.deliveries)
    added = receiver.deliveries[0]
    assert Webhook(secret).verify(added.raw, added.headers) == added.body
    assert added.path == "/audiences"
    assert added.body["action"] == "add" and added.body["audience"] == "meta_vips"
    assert added.body["members"] == [{
        "email_sha256": ANNA_EMAIL, "phone_sha256": ANNA_PHONE,
        "phone_e164_sha256": sha("+4915112345678"), "external_id": sha("anna"),
    }]  # fmt: skip
    # Bob may be counted twice: once by the initial sync, once by his entry in the log.
    until(lambda: status(client, shop, made["id"])["skipped_no_consent"] >= 1)

    person(client, shop, "bob", tier="regular")
    person(client, shop, "anna", tier="regular")
    until(lambda: len(receiver.deliveries) >= 2)
    removed = receiver.deliveries[1]
    assert Webhook(secret).verify(removed.raw, removed.headers) == removed.body
    assert removed.body["action"] == "remove"
    assert [m["email_sha256"] for m in removed.body["members"]] == [ANNA_EMAIL]
    assert removed.headers["webhook-id"] != added.headers["webhook-id"]

    done = until(lambda: (s := status(client, shop, made["id"]))["pending_changes"] == 0 and s)
    assert (done["added"], done["removed"], done["members"]) == (1, 1, 0)
    bob = {sha("bob@example.com"), sha("4915199999999")}
    sent = {v for d in receiver.requests for m in d.body["members"] for v in m.values()}
    assert not bob & sent, "bob never consented: none of his hashes may leave"
    assert len(receiver.requests) == 2


def test_a_failing_receiver_gets_the_same_batch_again_and_nothing_is_lost(
    client: TestClient, shop: Shop, receiver: Receiver, engine: Engine
) -> None:
    endpoint(client, shop, receiver.url)
    segment(client, shop)
    person(client, shop, "anna", email="anna@example.com", tier="vip")
    person(client, shop, "carl", email="carl@example.com", tier="vip")
    until(lambda: members(client, shop) == 2)
    receiver.answers = [500]
    made = audience(client, shop)  # no consent topic: every member goes

    failed = until(lambda: (s := status(client, shop, made["id"]))["last_error"] and s)
    assert "500" in failed["last_error"] and failed["attempts"] == 1
    assert (failed["phase"], failed["added"], failed["members"]) == ("initial", 0, 0)

    until(lambda: receiver.deliveries)
    [refused, taken] = receiver.requests[:2]
    assert taken.raw == refused.raw and taken.headers["webhook-id"] == refused.headers["webhook-id"]
    assert {m["email_sha256"] for m in taken.body["members"]} == {
        sha("anna@example.com"), sha("carl@example.com")}  # fmt: skip
    done = until(lambda: (s := status(client, shop, made["id"]))["phase"] == "following" and s)
    assert (done["added"], done["members"], done["attempts"], done["last_error"]) == (2, 2, 0, None)
    assert len(receiver.deliveries) == 1


def test_a_withdrawn_consent_removes_the_person_at_the_next_check(
    client: TestClient, shop: Shop, receiver: Receiver, engine: Engine
) -> None:
    endpoint(client, shop, receiver.url)
    segment(client, shop)
    consent_to_ads(client, shop, "anna@example.com")
    made = audience(client, shop, consent_topic="ads")
    person(client, shop, "anna", email="anna@example.com", tier="vip")
    until(lambda: receiver.deliveries)
    with write_transaction(engine) as conn:  # her click on the preference page
        consent.withdraw(conn, shop.workspace_id, "email", "anna@example.com", "ads", "form")
    with write_transaction(engine) as conn:  # a day later, the check of the sent members is due
        conn.execute(update(AudienceSync).where(AudienceSync.id == made["id"])
                     .values(recheck_at=utcnow()))  # fmt: skip

    until(lambda: len(receiver.deliveries) >= 2)
    removed = receiver.deliveries[1].body
    assert removed["action"] == "remove"
    assert [m["email_sha256"] for m in removed["members"]] == [sha("anna@example.com")]
    assert until(lambda: status(client, shop, made["id"])["members"] == 0)
