"""Sending over SMTP with aiosmtplib: connections kept open and reused by every send of the
process, answers classified — 5xx refused for good (a hard bounce), 4xx and lost connections
worth retrying.

The flow worker calls senders from its threads; the SMTP connections live on one event loop in
a thread of their own, and each send waits for its answer there.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import re
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal
from urllib.parse import unquote, urlsplit

import aiosmtplib

from nerve.errors import InvalidInput


class SendRefused(Exception):
    """The server refused the message for good (5xx): do not try again. `address`: the
    refusal is about the recipient's address (a 5xx to RCPT TO, or an RFC 3463 5.1.x / 5.2.1
    status): a hard bounce that suppresses it. A refusal of the content or by policy
    (5.7.x spam, 5.3.4 too big) is not held against the address."""

    def __init__(self, message: str, *, address: bool = True) -> None:
        super().__init__(message)
        self.address = address


class SendDeferred(Exception):
    """Not now (4xx, a lost or refused connection): try again later."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: Literal["plain", "starttls", "tls"]
    username: str | None = None
    password: str | None = None


def parse_url(url: str, password: str | None = None) -> SmtpServer:
    """`smtp://host:25` (STARTTLS when the server offers it), `smtp+starttls://` (required),
    `smtps://host:465` (TLS from the start); `user@` logs in, with `password` (a secret) or the
    URL's own."""
    parts = urlsplit(url)
    schemes = {"smtp": "plain", "smtp+starttls": "starttls", "smtps": "tls"}
    if parts.scheme not in schemes or not parts.hostname:
        raise InvalidInput(
            f"NERVE_SMTP_URL must look like smtp://host:25, smtp+starttls://user@host:587 or "
            f"smtps://user@host:465, not {parts.scheme or '(no scheme)'}://..."
        )
    security = schemes[parts.scheme]
    default_port = {"plain": 25, "starttls": 587, "tls": 465}[security]
    return SmtpServer(
        host=parts.hostname, port=parts.port or default_port, security=security,  # type: ignore[arg-type]
        username=unquote(parts.username) if parts.username else None,
        password=password or (unquote(parts.password) if parts.password else None),
    )  # fmt: skip


class SmtpSender:
    """Up to `connections` SMTP connections to one server, reused across sends."""

    def __init__(self, server: SmtpServer, connections: int = 4, timeout: float = 30) -> None:
        self.server, self.timeout = server, timeout
        self._loop: asyncio.AbstractEventLoop | None = None  # started by the first send
        self._thread: threading.Thread | None = None
        self._started = threading.Lock()
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(connections)

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._started:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name="nerve-smtp", daemon=True
                )
                self._thread.start()
            return self._loop

    def send(self, sender: str, recipient: str, raw: bytes) -> None:
        """Deliver to the server; SendRefused or SendDeferred when it would not take it."""
        future = asyncio.run_coroutine_threadsafe(
            self._send(sender, recipient, raw), self._running_loop()
        )
        try:
            future.result(self.timeout + 5)
        except TimeoutError as exc:
            future.cancel()
            raise SendDeferred("the SMTP server did not answer in time") from exc

    def close(self) -> None:
        async def quit_all() -> None:
            for client in self._idle:
                with contextlib.suppress(Exception):
                    await client.quit()
            self._idle.clear()

        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(quit_all(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        self._loop = None
        self._thread = None

    async def _send(self, sender: str, recipient: str, raw: bytes) -> None:
        async with self._slots:
            client = self._idle.pop() if self._idle else None
            for fresh in (False, True):  # a pooled connection may have been closed meanwhile
                if client is None or not client.is_connected:
                    client, fresh = await self._connect(), True
                try:
                    await client.sendmail(sender, [recipient], raw)
                except aiosmtplib.SMTPServerDisconnected as exc:
                    client = None
                    if fresh:
                        raise SendDeferred(f"the SMTP server closed the connection: {exc}") from exc
                    continue
                except aiosmtplib.SMTPRecipientsRefused as exc:
                    self._idle.append(client)
                    refused = exc.recipients[0]
                    raise _classified(refused.code, refused.message, recipient=True) from exc
                except aiosmtplib.SMTPSenderRefused as exc:
                    # The shop's own sender address refused (relaying denied, unverified
                    # domain): its set-up, not the customer's address. Retried, then
                    # dead-lettered, replayed once fixed.
                    self._idle.append(client)
                    raise SendDeferred(f"the SMTP server refused the sender {exc.sender}: "
                                       f"{exc.code} {exc.message}") from exc  # fmt: skip
                except aiosmtplib.SMTPResponseException as exc:
                    self._idle.append(client)
                    raise _classified(exc.code, exc.message) from exc
                self._idle.append(client)
                return

    async def _connect(self) -> aiosmtplib.SMTP:
        server = self.server
        client = aiosmtplib.SMTP(
            hostname=server.host, port=server.port, timeout=self.timeout,
            use_tls=server.security == "tls",
            start_tls=True if server.security == "starttls" else None,
        )  # fmt: skip
        try:
            await client.connect()
            if server.username:
                await client.login(server.username, server.password or "")
        except aiosmtplib.SMTPAuthenticationError as exc:
            client.close()
            # Wrong credentials: the shop's set-up. Never a bounce (it would suppress every
            # recipient); retried, then dead-lettered, replayed once NERVE_SMTP_URL or the
            # secret smtp.password is right (docs/runbooks.md).
            said = f"{exc.code} {exc.message}"
            raise SendDeferred(f"the SMTP server refused the login: {said}; check "
                               "NERVE_SMTP_URL and the secret smtp.password") from exc  # fmt: skip
        except (aiosmtplib.SMTPException, OSError) as exc:
            client.close()
            raise SendDeferred(f"cannot reach the SMTP server: {exc}") from exc
        return client


_ADDRESS_STATUS = re.compile(r"^5\.(?:1\.\d+|2\.1)\b")


def _classified(code: int, text: str, *, recipient: bool = False) -> Exception:
    if 500 <= code < 600:
        address = recipient or bool(_ADDRESS_STATUS.match(text.strip()))
        return SendRefused(f"{code} {text}", address=address)
    return SendDeferred(f"{code} {text}")


@dataclass
class Mailbox:
    """Staging and fast tests: keeps what would have been sent."""

    def __post_init__(self) -> None:
        self.raw: list[bytes] = []

    @property
    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(raw, policy=email.policy.default) for raw in self.raw]

    def send(self, sender: str, recipient: str, raw: bytes) -> None:
        self.raw.append(raw)

    def close(self) -> None:
        """Nothing to close: it holds no connection."""
