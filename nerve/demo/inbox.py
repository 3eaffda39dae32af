"""The simulated customers reading their mail: most confirm their newsletter sign-up with the
button behind the link in the confirmation mail, as a person would; what they do with a cart
reminder — read it, click a product, choose topics, leave — is `reminder_reading`'s.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import structlog
from rich.text import Text

from nerve.demo.audience_setup import VIP_SUBJECT
from nerve.demo.mail_links import confirmation_link
from nerve.demo.mail_visits import MailClicks, browser_for
from nerve.demo.mailbox import ReceivedMail
from nerve.demo.people import Customer
from nerve.demo.reminder_reading import ReadingFigures, ReminderReading

log = structlog.get_logger(__name__)

CONFIRMING_SHARE = 0.85  # of the customers who signed up, those who click the confirmation


@dataclass(frozen=True)
class _Due:
    at: float  # monotonic clock
    act: Callable[[httpx.Client], None]


class Inbox:
    """Gets every mail from the demo's mailbox (`deliver`) and acts on it on its own thread."""

    def __init__(
        self,
        base_url: str,
        customers: list[Customer],
        *,
        speed: float = 1.0,
        seed: int = 7,
        clicks: MailClicks | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._customers = {customer.email: customer for customer in customers}
        self._speed = speed
        self._seed = seed
        self._arrived: queue.SimpleQueue[ReceivedMail] = queue.SimpleQueue()
        self._notes: queue.SimpleQueue[Text] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._confirmed = 0
        self._reading = ReminderReading(base_url, self._notes, clicks or MailClicks(), seed)

    def deliver(self, mail: ReceivedMail) -> None:
        self._arrived.put(mail)

    @property
    def confirmed(self) -> int:
        with self._lock:
            return self._confirmed

    def unsubscribed(self) -> dict[str, Customer]:
        """The customers who left with one click, by address."""
        return self._reading.unsubscribed()

    def left(self) -> dict[str, tuple[Customer, str]]:
        """The customers who get no more reminders, by address, and how they said so."""
        return self._reading.left()

    def reading(self) -> ReadingFigures:
        return self._reading.figures()

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
        now = time.monotonic()
        confirm = confirmation_link(mail, self._base_url)
        if confirm is not None:
            decided = random.Random(f"{self._seed}:confirms:{customer.index}").random()
            if decided >= CONFIRMING_SHARE and not customer.regular:
                return []  # never clicks: the sign-up stays pending, and no newsletter goes out
            later = rng.uniform(5.0, 40.0) / self._speed
            act = lambda c: self._confirm(c, customer, confirm, mail.number)  # noqa: E731
            return [_Due(now + later, act)]
        if mail.kind == "marketing" and VIP_SUBJECT not in mail.subject:
            # the cart reminders; the VIP newsletter is left unread, so each run's first
            # unsubscribe and click stay a reminder's, as the welcome says
            acts = self._reading.plan(mail, customer, rng)
            return [_Due(now + delay / self._speed, act) for delay, act in acts]
        return []

    def _confirm(self, client: httpx.Client, customer: Customer, link: str, number: int) -> None:
        """Follow the link (a page with one button, so a mail scanner confirms nothing), then
        press the button."""
        headers = {"User-Agent": str(browser_for(customer, False).context.get("userAgent"))}
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
