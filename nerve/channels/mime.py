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
