"""The suppression list through HTTP: a CSV import with bad lines (named, the good ones
applied), the export, an address taken off (audited), and a relay's bounce and complaint
feedback — as JSON, as a real DSN mail and as an ARF report — after which a send to the
address is skipped; each role gets what it may."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from nerve.audit import service as audit
from nerve.channels.models import Message, Suppression
from nerve.db.engine import write_transaction
from nerve.privacy import service as privacy
from tests.bounces import arf, dsn
from tests.factories import Shop, make_key
from tests.smtp import SmtpSink
from tests.waiting import auth, until

CSV_HEADERS = {"Content-Type": "text/csv"}


def _hash(engine: Engine, shop: Shop, address: str) -> str:
    with write_transaction(engine) as conn:
        return privacy.identifier_hash(conn, shop.workspace_id, address)


def _listed(client: TestClient, shop: Shop, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/suppressions", params=params, headers=auth(shop))
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def _receipt(client: TestClient, shop: Shop, address: str, to: str = "email") -> dict[str, Any]:
    """A transactional mail to `address`, as the shop's backend sends an order confirmation."""
    body = {"to": {to: address},
            "content": {"subject": "Your order", "html": "<p>Thanks!</p>"}}  # fmt: skip
    response = client.post("/api/v1/messages", json=body, headers=auth(shop))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _timeline(client: TestClient, shop: Shop, user: str) -> list[str]:
    found = client.get("/api/v1/profiles", params={"identifier": f"user_id:{user}"},
                       headers=auth(shop)).json()  # fmt: skip
    page = client.get(f"/api/v1/profiles/{found['id']}/timeline", headers=auth(shop)).json()
    return [event.get("event") for event in page["data"]]


def _status(engine: Engine, row_id: str) -> tuple[str, str | None]:
    with engine.connect() as conn:
        row = conn.execute(select(Message.status, Message.reason).where(Message.id == row_id))
        status, reason = row.one()
    return status, reason


def test_a_csv_import_applies_the_good_lines_and_names_each_bad_one(
    client: TestClient, shop: Shop, engine: Engine
) -> None:
    text = (
        "Email,Reason,Detail\n"
        "Anna@Example.com,hard_bounce,550 user unknown at the old ESP\n"
        "not-an-address,complaint,\n"
        "ben@example.com,lost_in_the_post,\n"
        "\n"
        "cleo@example.com,,from the old newsletter tool\n"
    )
    response = client.post("/api/v1/suppressions", content=text, headers=CSV_HEADERS | auth(shop))
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["imported"], result["unchanged"]) == (2, 0)
    assert [(r["line"], r["reason"].split(":")[0]) for r in result["rejected"]] == [
        (3, "not an email address"), (4, "unknown reason 'lost_in_the_post'")]  # fmt: skip
    anna, cleo = _hash(engine, shop, "anna@example.com"), _hash(engine, shop, "cleo@example.com")
    listed = {row["address_hash"]: row for row in _listed(client, shop)}
    assert set(listed) == {anna, cleo}
    assert listed[anna]["reason"] == "hard_bounce"
    assert listed[cleo]["reason"] == "manual"  # no reason given: no mail at all
    assert "example.com" not in str(listed)  # hashes only
    [found] = _listed(client, shop, email="ANNA@example.com")
    assert found["address_hash"] == anna and found["detail"] == "550 user unknown at the old ESP"
    assert _listed(client, shop, email="ben@example.com") == []

    again = client.post("/api/v1/suppressions", content=text, headers=CSV_HEADERS | auth(shop))
    assert (again.json()["imported"], again.json()["unchanged"]) == (0, 2)
    as_json = {"entries": [{"email": "dora@example.com", "reason": "unsubscribed"},
                           {"address": "eve@example.com"}, {"email": "x"}]}  # fmt: skip
    imported = client.post("/api/v1/suppressions", json=as_json, headers=auth(shop)).json()
    assert imported["imported"] == 2 and imported["rejected"][0]["index"] == 2

    nothing_valid = "email\nnobody\n@example.com\nstill nobody\n"
    refused = client.post("/api/v1/suppressions", content=nothing_valid,
                          headers=CSV_HEADERS | auth(shop))  # fmt: skip
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "invalid_request"
    assert [problem["line"] for problem in error["details"]] == [2, 3, 4]
    no_column = client.post("/api/v1/suppressions", content="name,city\nAnna,Berlin\n",
                            headers=CSV_HEADERS | auth(shop))  # fmt: skip
    assert no_column.status_code == 400 and "email" in no_column.json()["error"]["message"]
    html = client.post("/api/v1/suppressions", content="<p>",
                       headers={"Content-Type": "text/html"} | auth(shop))  # fmt: skip
    assert html.status_code == 415
    assert len(_listed(client, shop)) == 4


def test_the_export_is_csv_of_hashes_and_paging_walks_the_list(
    client: TestClient, shop: Shop, engine: Engine
) -> None:
    addresses = [f"customer{i}@example.com" for i in range(7)]
    text = "email,reason\n" + "".join(f"{a},complaint\n" for a in addresses)
    assert client.post("/api/v1/suppressions", content=text,
                       headers=CSV_HEADERS | auth(shop)).status_code == 200  # fmt: skip
    exported = client.get("/api/v1/suppressions.csv", headers=auth(shop))
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert list(rows[0]) == ["address_hash", "channel", "reason", "detail", "created_at"]
    assert {row["address_hash"] for row in rows} == {_hash(engine, shop, a) for a in addresses}
    assert {row["reason"] for row in rows} == {"complaint"} and "@" not in exported.text

    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/suppressions", params=params, headers=auth(shop)).json()
        seen += [row["address_hash"] for row in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(row["address_hash"] for row in rows)
    forged = client.get("/api/v1/suppressions", params={"cursor": "nonsense"}, headers=auth(shop))
    assert forged.status_code == 400


def test_support_takes_a_wrongly_bounced_address_off_and_it_is_audited(
    client: TestClient, shop: Shop, engine: Engine, sink: SmtpSink
) -> None:
    text = "email,reason\nanna@example.com,hard_bounce\nanna@example.com,complaint\n"
    client.post("/api/v1/suppressions", content=text, headers=CSV_HEADERS | auth(shop))
    skipped = _receipt(client, shop, "anna@example.com")
    assert skipped["status"] == "skipped"
    removed = client.delete("/api/v1/suppressions", params={"email": "anna@example.com",
                                                            "reason": "hard_bounce"},
                            headers=auth(shop))  # fmt: skip
    assert removed.status_code == 200, removed.text
    anna = _hash(engine, shop, "anna@example.com")
    assert removed.json() == {"address_hash": anna, "reasons": ["hard_bounce"]}
    assert [row["reason"] for row in _listed(client, shop)] == ["complaint"]
    by_hash = client.delete("/api/v1/suppressions", params={"address_hash": anna},
                            headers=auth(shop))  # fmt: skip
    assert by_hash.json()["reasons"] == ["complaint"]
    again = client.delete("/api/v1/suppressions", params={"email": "anna@example.com"},
                          headers=auth(shop))  # fmt: skip
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"
    with engine.connect() as conn:
        logged = audit.entries(conn, shop.workspace_id)
    assert [(e["action"], e["target"]) for e in logged][:2] == [
        ("suppression.removed", anna), ("suppression.removed", anna)]  # fmt: skip
    assert _receipt(client, shop, "anna@example.com")["status"] == "sent"
    assert [m["To"] for m in sink.received] == ["anna@example.com"]


def test_a_relays_hard_bounce_suppresses_the_address_once(
    client: TestClient, shop: Shop, engine: Engine, sink: SmtpSink
) -> None:
    sent = _receipt(client, shop, "gone@example.com")
    assert sent["status"] == "sent"
    report = {"type": "bounce", "email": "Gone@example.com", "message_id": sent["message_id"],
              "permanent": True, "detail": "smtp; 550 5.1.1 <gone@example.com>: no such user"}  # fmt: skip
    first = client.post("/api/v1/feedback", json=report, headers=auth(shop))
    assert first.status_code == 200, first.text
    [result] = first.json()["data"]
    assert result == {"type": "bounce", "permanent": True, "message_id": sent["message_id"],
                      "message": sent["id"], "outcome": "suppressed"}  # fmt: skip
    again = client.post("/api/v1/feedback", json=[report], headers=auth(shop))
    assert again.json()["data"][0]["outcome"] == "already_applied"
    status, reason = _status(engine, sent["id"])
    assert status == "bounced" and "no such user" in (reason or "")
    [listed] = _listed(client, shop)
    assert listed["reason"] == "hard_bounce" and "gone@" not in (listed["detail"] or "")

    skipped = _receipt(client, shop, "gone@example.com")
    assert skipped["status"] == "skipped"
    assert skipped["reason"] == "the address is suppressed (hard_bounce)"
    assert len(sink.received) == 1

    soft = {"type": "bounce", "email": "full@example.com", "permanent": False,
            "detail": "452 4.2.2 mailbox full"}  # fmt: skip
    logged = client.post("/api/v1/feedback", json=soft, headers=auth(shop)).json()["data"]
    assert logged[0]["outcome"] == "logged"
    assert len(_listed(client, shop)) == 1
    unknown = {"type": "complaint", "message_id": "<nothing-we-sent@shop.example>"}
    answered = client.post("/api/v1/feedback", json=unknown, headers=auth(shop)).json()
    assert answered["data"][0]["outcome"] == "unknown_recipient"
    for bad in ({}, {"type": "praise", "email": "a@example.com"}, [{"type": "bounce"}] * 1001):
        refused = client.post("/api/v1/feedback", json=bad, headers=auth(shop))
        assert refused.status_code == 400, refused.text


def test_a_dsn_mail_bounces_its_message_and_an_arf_report_marks_a_complaint(
    client: TestClient, shop: Shop, engine: Engine
) -> None:
    bounced = _receipt(client, shop, "gone@example.com")
    mail = {"Content-Type": "message/rfc822"} | auth(shop)
    posted = client.post("/api/v1/feedback", content=dsn(bounced["message_id"],
                                                          "gone@example.com"), headers=mail)  # fmt: skip
    assert posted.status_code == 200, posted.text
    assert posted.json()["data"][0]["outcome"] == "suppressed"
    assert _status(engine, bounced["id"])[0] == "bounced"
    delayed = dsn(bounced["message_id"], "gone@example.com", status="4.4.1", action="delayed")
    again = client.post("/api/v1/feedback", content=delayed, headers=mail).json()["data"]
    assert again[0]["permanent"] is False and again[0]["outcome"] == "logged"

    identify = {"userId": "fred", "traits": {"email": "fed.up@example.com"}}
    client.post("/v1/identify", json=identify, auth=(shop.write_keys["web"], ""))
    until(lambda: client.get("/api/v1/profiles", params={"identifier": "user_id:fred"},
                             headers=auth(shop)).status_code == 200)  # fmt: skip
    read = _receipt(client, shop, "user_id:fred", to="identifier")
    complaint = client.post("/api/v1/feedback", content=arf(read["message_id"]), headers=mail)
    assert complaint.json()["data"][0]["message"] == read["id"]
    assert _status(engine, read["id"])[0] == "complained"
    with engine.connect() as conn:
        reasons = dict(conn.execute(select(Suppression.address_hash, Suppression.reason)).all())
    assert reasons[_hash(engine, shop, "fed.up@example.com")] == "complaint"
    assert reasons[_hash(engine, shop, "gone@example.com")] == "hard_bounce"
    assert _receipt(client, shop, "fed.up@example.com")["status"] == "skipped"
    until(lambda: "Email Marked as Spam" in _timeline(client, shop, "fred"))
    client.post("/api/v1/feedback", content=arf(read["message_id"]), headers=mail)  # again
    assert _timeline(client, shop, "fred").count("Email Marked as Spam") == 1

    out_of_office = b"From: anna@example.com\r\nSubject: Out of office\r\n\r\nBack Monday.\r\n"
    refused = client.post("/api/v1/feedback", content=out_of_office, headers=mail)
    assert refused.status_code == 400 and "RFC 3464" in refused.json()["error"]["message"]


def test_each_role_gets_what_it_may(client: TestClient, shop: Shop, engine: Engine) -> None:
    keys = {role: make_key(engine, shop.workspace_id, role) for role in ("builder", "analyst",
                                                                         "staff")}  # fmt: skip

    def as_role(role: str, method: str, path: str, **extra: Any) -> int:
        headers = {"Authorization": f"Bearer {keys[role]}"} | extra.pop("headers", {})
        return client.request(method, path, headers=headers, **extra).status_code

    report = {"type": "complaint", "email": "anna@example.com"}
    line = {"content": "email\nanna@example.com\n", "headers": CSV_HEADERS}
    assert as_role("builder", "POST", "/api/v1/feedback", json=report) == 200
    assert as_role("builder", "POST", "/api/v1/suppressions", **line) == 200
    for role in ("analyst", "staff"):
        assert as_role(role, "POST", "/api/v1/feedback", json=report) == 403
        assert as_role(role, "POST", "/api/v1/suppressions", **line) == 403
        assert as_role(role, "DELETE", "/api/v1/suppressions",
                       params={"email": "anna@example.com"}) == 403  # fmt: skip
    assert as_role("analyst", "GET", "/api/v1/suppressions") == 200
    assert as_role("analyst", "GET", "/api/v1/suppressions.csv") == 200
    assert as_role("staff", "GET", "/api/v1/suppressions") == 403
    assert as_role("staff", "GET", "/api/v1/suppressions.csv") == 403
    assert client.post("/api/v1/feedback", json=report).status_code == 401
