"""A rendered email as the MIME message SMTP carries: text and HTML alternatives, the headers."""

from __future__ import annotations

import html
import re
from email.message import EmailMessage
from email.utils import formatdate

_BODY = re.compile(r"<body[^>]*>", re.IGNORECASE)


def build(
    *,
    sender: str,
    to: str,
    rendered: dict[str, str],
    message_id: str,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = rendered["subject"]
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(rendered["text"], cte="quoted-printable")
    message.add_alternative(
        _with_preheader(rendered["html"], rendered.get("preheader", "")), subtype="html",
        cte="quoted-printable",
    )  # fmt: skip
    return message


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
