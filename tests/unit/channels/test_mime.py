"""The MIME message Nerve writes itself reads back, part for part and header for header, with
Python's email package: non-ASCII, long lines, trailing spaces, only CRLF line ends."""

from __future__ import annotations

import email
import email.policy

from hypothesis import given, settings
from hypothesis import strategies as st

from nerve.channels import mime

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x00"),
               max_size=400)  # fmt: skip


def _parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def _part(mail: email.message.EmailMessage, kind: str) -> str:
    """A part's text with the line ends a reader's program sees (SMTP carries CRLF)."""
    return str(mail.get_body((kind,)).get_content()).replace("\r\n", "\n")  # type: ignore[union-attr]


def test_headers_and_parts_read_back() -> None:
    unsubscribe = (
        "<https://nerve.example/u/" + "x" * 60 + ">, <mailto:leave@shop.example?subject=u>"
    )
    raw = mime.build(
        sender="Große Läden <hallo@shop.example>", to="anna@example.com",
        rendered={"subject": ("Anna, Ihre Laufschuhe — 20 % günstiger " * 3).strip(), "preheader": "Nur heute",
                  "html": "<html><body><p>Grüße</p></body></html>", "text": "Grüße\n"},
        message_id="<abc@shop.example>",
        headers={"List-Unsubscribe": unsubscribe, "List-Id": "<news.shop.example>"},
    )  # fmt: skip
    assert b"\n" not in raw.replace(b"\r\n", b"") and max(map(len, raw.split(b"\r\n"))) <= 998
    mail = _parse(raw)
    assert mail["From"] == "Große Läden <hallo@shop.example>"
    assert mail["Subject"] == ("Anna, Ihre Laufschuhe — 20 % günstiger " * 3).strip()
    assert mail["List-Unsubscribe"] == unsubscribe and mail["Message-ID"] == "<abc@shop.example>"
    assert mail.get_content_type() == "multipart/alternative"
    assert _part(mail, "plain") == "Grüße\n"
    page = _part(mail, "html")
    assert "<p>Grüße</p>" in page and "Nur heute" in page


@settings(max_examples=60, deadline=None)
@given(text=TEXT, page=TEXT, subject=TEXT.filter(lambda s: s.strip()))
def test_any_text_survives_the_round_trip(text: str, page: str, subject: str) -> None:
    one_line = " ".join(subject.split())  # a rendered subject is one line
    raw = mime.build(sender="Shop <hi@shop.example>", to="a@example.com",
                     rendered={"subject": one_line, "html": page, "text": text},
                     message_id="<m@shop.example>")  # fmt: skip
    mail = _parse(raw)
    assert mail["Subject"] == one_line
    assert _part(mail, "plain") == text.replace("\r\n", "\n")
    assert _part(mail, "html") == page
