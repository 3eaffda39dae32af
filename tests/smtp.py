"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives and can refuse."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


@dataclass
class _Handler:
    received: list[EmailMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    # recipient → the answer to RCPT TO (such as "550 5.1.1 no such user")
    refusals: dict[str, str] = field(default_factory=dict)
    # recipient → the answer to DATA (such as "554 5.7.1 looks like spam"): content refused
    content_refusals: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:  # fmt: skip
        refusal = self.refusals.get(address)
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    # Set: the first message is kept, then its answer waits until `release` is set.
    hold_first: threading.Event | None = None
    release: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        refusal = next((self.content_refusals[to] for to in envelope.rcpt_tos
                        if to in self.content_refusals), None)  # fmt: skip
        if refusal is not None:
            return refusal
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append(parsed)  # type: ignore[arg-type]
            self.raw.append(envelope.original_content)
            first = len(self.received) == 1
        if first and self.hold_first is not None:
            self.hold_first.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpSink:
    """With `login` (user, password) the server takes AUTH (over plain loopback)."""

    def __init__(self, hold_first: bool = False, login: tuple[str, str] | None = None) -> None:
        self.handler = _Handler()
        if hold_first:
            self.handler.hold_first = threading.Event()
        self.port = _free_port()
        self.logins: list[str] = []
        options: dict[str, Any] = {}
        if login is not None:

            def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                              data: Any) -> AuthResult:  # fmt: skip
                ok = (data.login.decode(), data.password.decode()) == login
                if ok:
                    self.logins.append(data.login.decode())
                # Not `handled`: the server answers a refusal with 535, as real ones do.
                return AuthResult(success=ok, handled=False)

            # AUTH offered over plain loopback (`logins` shows the client used it).
            options = {"authenticator": authenticator, "auth_require_tls": False}
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[EmailMessage]:
        with self.handler.lock:
            return list(self.handler.received)

    @property
    def raw(self) -> list[bytes]:
        """The messages as they arrived, byte for byte (what a DKIM check reads)."""
        with self.handler.lock:
            return list(self.handler.raw)

    def refuse(self, address: str, answer: str) -> None:
        self.handler.refusals[address] = answer

    def refuse_content(self, address: str, answer: str) -> None:
        """Take RCPT TO for the address, then refuse the message at DATA with `answer`."""
        self.handler.content_refusals[address] = answer

    def first_arrived(self, seconds: float) -> bool:
        assert self.handler.hold_first is not None
        return self.handler.hold_first.wait(seconds)

    def release(self) -> None:
        self.handler.release.set()

    def close(self) -> None:
        self.handler.release.set()
        self.controller.stop()
