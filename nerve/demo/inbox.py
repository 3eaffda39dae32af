"""The simulated customers reading their mail: most confirm their newsletter sign-up with the
button behind the link in the confirmation mail, as a person would, and now and then one of
them leaves with one click on a cart reminder — the POST Gmail makes for its "Unsubscribe"
button (RFC 8058).

The first customer to get a cart reminder in a demo run always unsubscribes, so every run shows
that Nerve sends nothing more to someone who left.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import structlog
from rich.text import Text

from nerve.demo.mailbox import ReceivedMail
from nerve.demo.people import Customer

log = structlog.get_logger(__name__)

CONFIRMING_SHARE = 0.85  # of the customers who signed up, those who click the confirmation
UNSUBSCRIBING_SHARE = 0.1  # of the later reminder recipients, those who leave
# "Unsubscribe" in Gmail: RFC 8058 §3.1, a form-encoded POST of exactly this body.
ONE_CLICK = "List-Unsubscribe=One-Click"


@dataclass(frozen=True)
class _Due:
    at: float  # monotonic clock
    act: Callable[[httpx.Client], None]


class Inbox:
    """Gets every mail from the demo's mailbox (`deliver`) and acts on it on its own thread."""

    def __init__(
        self, base_url: str, customers: list[Customer], *, speed: float = 1.0, seed: int = 7
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._customers = {customer.email: customer for customer in customers}
        self._speed = speed
        self._seed = seed
        self._arrived: queue.SimpleQueue[ReceivedMail] = queue.SimpleQueue()
        self._notes: queue.SimpleQueue[Text] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._confirmed = 0
        self._leaving: set[str] = set()  # addresses decided to leave, perhaps not done yet
        self._unsubscribed: dict[str, Customer] = {}  # address → the customer who left

    def deliver(self, mail: ReceivedMail) -> None:
        self._arrived.put(mail)

    @property
    def confirmed(self) -> int:
        with self._lock:
            return self._confirmed

    def unsubscribed(self) -> dict[str, Customer]:
        with self._lock:
            return dict(self._unsubscribed)

    def notes(self) -> list[Text]:
        """What the customers did since the last call, one line each, for the screen."""
        found = []
        while not self._notes.empty():
            found.append(self._notes.get_nowait())
        return found

    def run(self, stop: threading.Event) -> None:
        """Read and act until `stop` is set; what is due later is left undone."""
        try:
            self._read_until(stop)
        except Exception:  # the shop goes on without it; the screen says so
            log.exception("demo inbox stopped")
            self._notes.put(Text("  the customers stopped reading their mail (see the log)", "red"))

    def _read_until(self, stop: threading.Event) -> None:
        due: list[tuple[float, int, _Due]] = []
        order = itertools.count()
        with httpx.Client(timeout=10.0) as client:
            while not stop.is_set():
                wait = 0.2 if not due else max(0.0, min(0.2, due[0][0] - time.monotonic()))
                try:
                    mail = self._arrived.get(timeout=wait)
                except queue.Empty:
                    mail = None
                if mail is not None:
                    for action in self._read(mail):
                        heapq.heappush(due, (action.at, next(order), action))
                while due and due[0][0] <= time.monotonic() and not stop.is_set():
                    action = heapq.heappop(due)[2]
                    try:
                        action.act(client)
                    except httpx.HTTPError as exc:
                        log.warning("demo_inbox_request_failed", error=repr(exc))
                        self._notes.put(Text(f"  the inbox could not reach Nerve: {exc!r}", "red"))

    def _read(self, mail: ReceivedMail) -> list[_Due]:
        found = (self._customers.get(recipient.lower()) for recipient in mail.recipients)
        customer = next((customer for customer in found if customer is not None), None)
        if customer is None:  # not one of the simulated customers (a curl user's test send)
            return []
        rng = random.Random(f"{self._seed}:inbox:{customer.index}:{mail.number}")
        confirm = confirmation_link(mail, self._base_url)
        if confirm is not None:
            decided = random.Random(f"{self._seed}:confirms:{customer.index}").random()
            if decided >= CONFIRMING_SHARE:
                return []  # never clicks: the sign-up stays pending, and no newsletter goes out
            later = rng.uniform(5.0, 40.0) / self._speed
            act = lambda c: self._confirm(c, customer, confirm, mail.number)  # noqa: E731
            return [_Due(time.monotonic() + later, act)]
        if mail.kind == "marketing" and mail.unsubscribe_url and self._leaves(customer, rng):
            url = mail.unsubscribe_url
            later = rng.uniform(5.0, 30.0) / self._speed
            act = lambda c: self._unsubscribe(c, customer, url, mail.number)  # noqa: E731
            return [_Due(time.monotonic() + later, act)]
        return []

    def _leaves(self, customer: Customer, rng: random.Random) -> bool:
        with self._lock:
            if customer.email in self._leaving:
                return False
            leaves = not self._leaving or rng.random() < UNSUBSCRIBING_SHARE
            if leaves:  # decided now: a second mail before the click must not decide again
                self._leaving.add(customer.email)
            return leaves

    def _confirm(self, client: httpx.Client, customer: Customer, link: str, number: int) -> None:
        """Follow the link (a page with one button, so a mail scanner confirms nothing), then
        press the button."""
        headers = {"User-Agent": _browser(customer)}
        page = client.get(link, headers=headers)
        answer = client.post(link, headers=headers) if page.status_code == 200 else page
        if answer.status_code != 200:
            self._notes.put(Text(f"  {customer.name} could not confirm: HTTP {answer.status_code}",
                                 style="red"))  # fmt: skip
            return
        with self._lock:
            self._confirmed += 1
            first = self._confirmed == 1
        if first:  # the others are counted on the status line: thirty such lines say nothing
            self._notes.put(
                Text.assemble(
                    ("✓ ", "green"), (customer.name, "bold"),
                    f" confirmed the newsletter sign-up: clicked the link in mail {number}."
                    " Nerve may send them marketing mail now; the status line counts the"
                    " confirmations that follow",
                )
            )  # fmt: skip

    def _unsubscribe(self, client: httpx.Client, customer: Customer, url: str, number: int) -> None:
        answer = client.post(
            url,
            content=ONE_CLICK,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        if answer.status_code != 200:
            self._notes.put(Text(f"  {customer.name} could not unsubscribe: HTTP "
                                 f"{answer.status_code}", style="red"))  # fmt: skip
            return
        customer.unsubscribed = True
        with self._lock:
            self._unsubscribed[customer.email] = customer
        self._notes.put(
            Text.assemble(
                ("✗ ", "red"), (customer.name, "bold"),
                f" unsubscribed with one click in mail {number} (the POST Gmail's button makes):"
                " Nerve sends them no more marketing mail",
            )
        )  # fmt: skip


_CONFIRM_LINK = re.compile(r"""href=["']([^"']+/c/[A-Za-z0-9._~-]+)["']""")


def confirmation_link(mail: ReceivedMail, base_url: str) -> str | None:
    """The double opt-in link of a sign-up confirmation mail (None in any other mail)."""
    if mail.kind != "transactional" or mail.html is None:
        return None
    for link in _CONFIRM_LINK.findall(mail.html):
        if link.startswith(f"{base_url.rstrip('/')}/c/"):
            return str(link)
    return None


def _browser(customer: Customer) -> str:
    for device in customer.devices:
        agent = device.context.get("userAgent")
        if isinstance(agent, str):
            return agent
    return "Mozilla/5.0"
