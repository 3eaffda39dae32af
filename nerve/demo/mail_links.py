"""What a customer's mail program finds in a mail from the demo shop: the double opt-in link,
the links Nerve rewrote to its click redirect (`/l/TOKEN`) with the words they stand on, the open
pixel (`/o/TOKEN`) and the link to the preference page (`/p/TOKEN`)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from nerve.demo.mailbox import ReceivedMail

_ANCHOR = re.compile(r"""<a\b[^>]*?\bhref\s*=\s*(["'])(.*?)\1[^>]*>(.*?)</a\s*>""", re.I | re.S)
_IMAGE = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*(["'])(.*?)\1""", re.I | re.S)
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Link:
    url: str
    words: str  # what the reader sees of it


def links(mail: ReceivedMail) -> list[Link]:
    """The mail's links in the order of its HTML (none in a mail without HTML)."""
    found = []
    for match in _ANCHOR.finditer(mail.html or ""):
        words = " ".join(html.unescape(_TAG.sub(" ", match.group(3))).split())
        found.append(Link(html.unescape(match.group(2)).strip(), words))
    return found


def nerve_links(mail: ReceivedMail, base_url: str, kind: str) -> list[Link]:
    """The mail's links to Nerve's pages of one kind: `l` click redirects, `p` the preference
    page, `c` the sign-up confirmation, `u` the unsubscribe page."""
    prefix = f"{base_url.rstrip('/')}/{kind}/"
    return [link for link in links(mail) if link.url.startswith(prefix)]


def open_pixel(mail: ReceivedMail, base_url: str) -> str | None:
    prefix = f"{base_url.rstrip('/')}/o/"
    for match in _IMAGE.finditer(mail.html or ""):
        source = html.unescape(match.group(2)).strip()
        if source.startswith(prefix):
            return source
    return None


def confirmation_link(mail: ReceivedMail, base_url: str) -> str | None:
    """The double opt-in link of a sign-up confirmation mail (None in any other mail)."""
    if mail.kind != "transactional":
        return None
    found = nerve_links(mail, base_url, "c")
    return found[0].url if found else None


def preferences_link(mail: ReceivedMail, base_url: str) -> str | None:
    found = nerve_links(mail, base_url, "p")
    return found[0].url if found else None
