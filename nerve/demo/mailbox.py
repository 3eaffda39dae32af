"""The demo's mail server: a real SMTP server (aiosmtpd) on a free loopback port that Nerve sends
the demo shop's mail to. It keeps the last messages in memory for the mail pages and the screen,
and tells the simulated customers' inbox what arrived.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, Literal

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"
KEEP = 200  # messages kept; older ones are forgotten, as the demo runs for hours


@dataclass(eq=False)
class ReceivedMail:
    number: int  # 1, 2, ... in order of arrival: its page is /demo/mails/NUMBER
    received_at: datetime
    recipients: list[str]  # the envelope's RCPT TO
    raw: bytes  # as it arrived, byte for byte
    subject: str
    sender: str
    to: str
    # marketing mail carries one-click unsubscribe (RFC 8058); transactional mail does not
    kind: Literal["marketing", "transactional"]
    html: str | None
    text: str | None
    headers: list[tuple[str, str]]
    # What sent it, from Nerve's message log (a flow's step, a sign-up), once the demo knows.
    sent_by: str | None = None

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)

    @property
    def unsubscribe_url(self) -> str | None:
        """The https (or, in the demo, http) target of List-Unsubscribe: where Gmail POSTs."""
        value = self.header("List-Unsubscribe") or ""
        for part in value.split(","):
            target = part.strip().strip("<>")
            if target.startswith(("http://", "https://")):
                return target
        return None


class DemoMailbox:
    """Listens on 127.0.0.1 at a free port inside `with`; `url` is the NERVE_SMTP_URL for it."""

    def __init__(self, keep: int = KEEP) -> None:
        self._lock = threading.Lock()
        self._mails: deque[ReceivedMail] = deque(maxlen=keep)
        self._count = 0
        self._listeners: list[Callable[[ReceivedMail], None]] = []
        self._listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Bound here, so no other process can take the port before the server listens on it.
        self._listening.bind((HOST, 0))
        self._controller = _Controller(_Handler(self), self._listening)

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self._controller.port}"

    def __enter__(self) -> DemoMailbox:
        try:
            self._controller.start()
        except BaseException:
            self._listening.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._controller.stop()  # closes the listening socket with the server

    def on_arrival(self, listener: Callable[[ReceivedMail], None]) -> None:
        """Call `listener` with every mail that arrives (on the SMTP server's thread: be quick)."""
        self._listeners.append(listener)

    @property
    def count(self) -> int:
        """All mails received since the demo started, forgotten ones too."""
        with self._lock:
            return self._count

    def mails(self) -> list[ReceivedMail]:
        """The mails kept, newest first."""
        with self._lock:
            return list(reversed(self._mails))

    def mail(self, number: int) -> ReceivedMail | None:
        with self._lock:
            return next((mail for mail in self._mails if mail.number == number), None)

    def after(self, number: int) -> list[ReceivedMail]:
        """The mails kept that arrived after mail `number`, oldest first."""
        with self._lock:
            return [mail for mail in self._mails if mail.number > number]

    def receive(self, recipients: list[str], raw: bytes) -> ReceivedMail:
        with self._lock:
            self._count += 1
            mail = _parsed(self._count, recipients, raw)
            self._mails.append(mail)
        for listener in self._listeners:
            listener(mail)
        return mail


def _parsed(number: int, recipients: list[str], raw: bytes) -> ReceivedMail:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return ReceivedMail(
        number=number,
        received_at=datetime.now(UTC),
        recipients=recipients,
        raw=raw,
        subject=str(message.get("Subject", "")),
        sender=str(message.get("From", "")),
        to=str(message.get("To", "")),
        kind="marketing" if message.get("List-Unsubscribe-Post") else "transactional",
        html=_part(message, "html"),
        text=_part(message, "plain"),
        headers=[(name, str(value).strip()) for name, value in message.items()],
    )


def _part(message: EmailMessage, subtype: str) -> str | None:
    body = message.get_body(preferencelist=(subtype,))
    if body is None or body.get_content_subtype() != subtype:
        return None
    content = body.get_content()
    return content.replace("\r\n", "\n") if isinstance(content, str) else None


class _Handler:
    def __init__(self, mailbox: DemoMailbox) -> None:
        self._mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        self._mailbox.receive(list(envelope.rcpt_tos), bytes(raw))
        return "250 Message accepted for delivery"


class _Controller(Controller):
    """aiosmtpd's threaded server on a socket bound beforehand (aiosmtpd itself needs a port
    number known to be free, and another process could take it between the check and the bind)."""

    def __init__(self, handler: _Handler, listening: socket.socket) -> None:
        self._listening = listening
        port = listening.getsockname()[1]
        super().__init__(handler, hostname=HOST, port=port, server_hostname="demo-mailbox")

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        return self.loop.create_server(self._factory_invoker, sock=self._listening)
