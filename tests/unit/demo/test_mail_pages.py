"""The demo's mailbox and mail pages: mail as it arrives over SMTP, kept within bounds, and shown
without letting its HTML run anything in the demo's pages."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from nerve.demo.mail_pages import mail_router
from nerve.demo.mailbox import DemoMailbox


@pytest.fixture
def mailbox() -> Iterator[DemoMailbox]:
    with DemoMailbox(keep=3) as box:
        yield box


def _send(mailbox: DemoMailbox, subject: str, html: str, marketing: bool = False) -> None:
    message = EmailMessage()
    message["From"] = "Shop <hello@shop.example>"
    message["To"] = "anna@example.com"
    message["Subject"] = subject
    if marketing:
        message["List-Unsubscribe"] = "<http://127.0.0.1:8000/u/TOKEN>, <mailto:u@shop.example>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content("plain words")
    message.add_alternative(html, subtype="html")
    port = int(mailbox.url.rsplit(":", 1)[1])
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.send_message(message)


def test_mail_arrives_over_smtp_and_only_the_last_ones_are_kept(mailbox: DemoMailbox) -> None:
    arrived = []
    mailbox.on_arrival(arrived.append)
    for number in range(1, 5):
        _send(mailbox, f"Mail {number}", f"<p>mail {number}</p>", marketing=number == 4)
    assert [mail.subject for mail in mailbox.mails()] == ["Mail 4", "Mail 3", "Mail 2"]
    assert mailbox.count == 4 and mailbox.mail(1) is None
    assert [mail.number for mail in arrived] == [1, 2, 3, 4]
    last = mailbox.mails()[0]
    assert last.kind == "marketing" and last.unsubscribe_url == "http://127.0.0.1:8000/u/TOKEN"
    assert last.text == "plain words\n" and last.html == "<p>mail 4</p>\n"
    assert mailbox.mails()[1].kind == "transactional"


def test_mail_html_is_shown_sandboxed_and_its_words_escaped(mailbox: DemoMailbox) -> None:
    _send(mailbox, "<script>alert(1)</script>", "<html><head></head><body><a href='x'>go</a>"
          "<script>alert(2)</script></body></html>")  # fmt: skip
    app = FastAPI()
    app.include_router(mail_router(mailbox))
    client = TestClient(app)

    listed = client.get("/demo/mails")
    assert listed.status_code == 200
    assert "<script>alert(1)" not in listed.text and "&lt;script&gt;alert(1)" in listed.text
    page = client.get("/demo/mails/1")
    assert "<iframe sandbox='allow-popups allow-popups-to-escape-sandbox'" in page.text
    assert "<script>" not in page.text
    html = client.get("/demo/mails/1/html")
    policy = html.headers["content-security-policy"]
    assert policy.startswith("sandbox ") and "allow-scripts" not in policy
    assert "default-src 'none'" in policy
    assert '<head><base target="_blank">' in html.text  # links open outside the frame
    assert client.get("/demo/mails/1/source").content.startswith(b"From: Shop")
    assert client.get("/demo/mails/2").status_code == 404
    assert client.get("/demo/mails/2/html").status_code == 404
    assert client.get("/demo/mails.json").json()["data"][0]["kind"] == "transactional"
