"""A rendered email as the bytes SMTP carries: text and HTML alternatives (quoted-printable,
UTF-8), the headers (RFC 2047-encoded where they hold more than ASCII, folded where long).

Written out directly rather than through `email.message.EmailMessage`, whose header registry
parsed every header back again: ~2.7 ms a mail, most of a send's rendering time.
"""

from __future__ import annotations

import email.quoprimime
import html
import re
import secrets
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr

_BODY = re.compile(r"<body[^>]*>", re.IGNORECASE)
_CRLF = "\r\n"


def build(
    *,
    sender: str,
    to: str,
    rendered: dict[str, str],
    message_id: str,
    headers: dict[str, str] | None = None,
) -> bytes:
    boundary = f"=_nerve_{secrets.token_hex(12)}"
    page = _with_preheader(rendered["html"], rendered.get("preheader", ""))
    lines = [
        f"From: {_address(sender)}",
        f"To: {_address(to)}",
        f"Subject: {_text(rendered['subject'])}",
        f"Date: {formatdate(usegmt=True)}",
        f"Message-ID: {message_id}",
        *(f"{name}: {_list(value)}" for name, value in (headers or {}).items()),
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "",
        *_part(boundary, "plain", rendered["text"]),
        *_part(boundary, "html", page),
        f"--{boundary}--",
        "",
    ]
    return _CRLF.join(lines).encode("ascii")


def _part(boundary: str, subtype: str, body: str) -> list[str]:
    as_bytes = body.replace("\r\n", "\n").encode("utf-8").decode("latin-1")
    encoded = email.quoprimime.body_encode(as_bytes, maxlinelen=76, eol=_CRLF)
    return [f"--{boundary}", f'Content-Type: text/{subtype}; charset="utf-8"',
            "Content-Transfer-Encoding: quoted-printable", "", encoded]  # fmt: skip


def _text(value: str) -> str:
    """Free text (a subject): as it is when short ASCII, else RFC 2047 words, folded."""
    if value.isascii() and len(value) < 70:
        return value
    charset = "us-ascii" if value.isascii() else "utf-8"
    return Header(value, charset, header_name="Subject").encode(linesep=_CRLF)


def _address(value: str) -> str:
    name, address = parseaddr(value)
    if not name:
        return address or value
    return formataddr((name, address), charset="utf-8")


def _list(value: str) -> str:
    """A header of comma-separated items (List-Unsubscribe), folded after its commas."""
    if len(value) < 70 or ", " not in value:
        return value
    return ("," + _CRLF + " ").join(value.split(", "))


def _with_preheader(body: str, preheader: str) -> str:
    """The inbox shows the first text of the HTML beside the subject: make it the preheader,
    hidden in the mail itself."""
    if not preheader:
        return body
    hidden = (
        '<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">'
        f"{html.escape(preheader)}</div>"
    )
    found = _BODY.search(body)
    return body[: found.end()] + hidden + body[found.end() :] if found else hidden + body


def with_footer(rendered: dict[str, str], unsubscribe: str, imprint: str) -> dict[str, str]:
    """A marketing mail shows how to leave and who sends it: what the template left out of
    that is added at the end of both parts."""
    html_lines, text_lines = [], []
    if unsubscribe not in rendered["html"]:
        html_lines.append(f'<a href="{html.escape(unsubscribe)}">Unsubscribe</a>')
    if unsubscribe not in rendered["text"]:
        text_lines.append(f"Unsubscribe: {unsubscribe}")
    if imprint and html.escape(imprint) not in rendered["html"] and imprint not in rendered["html"]:
        html_lines.append(html.escape(imprint))
    if imprint and imprint not in rendered["text"]:
        text_lines.append(imprint)
    if not html_lines and not text_lines:
        return rendered
    footer = ('<p style="color:#888;font-size:12px">' + " · ".join(html_lines) + "</p>"
              if html_lines else "")  # fmt: skip
    body = rendered["html"]
    end = body.lower().rfind("</body>")
    body = body[:end] + footer + body[end:] if end != -1 else body + footer
    text = rendered["text"].rstrip("\n") + ("\n\n" + "\n".join(text_lines) if text_lines else "")
    return {**rendered, "html": body, "text": text + "\n"}
