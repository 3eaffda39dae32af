"""What the simulated customers do with a cart reminder: their mail program loads the open pixel
when they read it (Apple Mail's privacy proxy loads it for some as soon as it arrives, which
Nerve does not count as an open); some click a product and go back to the shop, a few choose
their topics on the preference page, and now and then one leaves with one click — the POST
Gmail makes for its "Unsubscribe" button (RFC 8058).

In every run the first customer to get a reminder unsubscribes, the next one clicks a product
and the one after that chooses on the preference page, so every run shows each of them soon.
"""

from __future__ import annotations

import html
import queue
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, urlsplit

import httpx
from rich.text import Text

from nerve.demo.cart_flow import STEP_MAILS
from nerve.demo.catalog import PRODUCTS, Product
from nerve.demo.devices import APPLE_PRIVACY_PROXY, MAIL_PROGRAMS
from nerve.demo.mail_links import Link, nerve_links, open_pixel, preferences_link
from nerve.demo.mail_topics import BACK_IN_STOCK
from nerve.demo.mail_visits import MailClick, MailClicks, browser_for
from nerve.demo.mailbox import ReceivedMail
from nerve.demo.people import Customer

READING_SHARE = 0.6  # of the reminders, those read (the mail program loads the open pixel)
CLICKING_SHARE = 0.4  # of those read, those whose reader clicks a product
CHOOSING_SHARE = 0.15  # of those read, those whose reader opens the preference page
SWITCHING_SHARE = 0.3  # of those choosing, those who keep only back-in-stock mail
UNSUBSCRIBING_SHARE = 0.1  # of the later reminder recipients, those who leave
PROTECTED_SHARE = 0.6  # of Apple Mail's users, those with Mail Privacy Protection on
# "Unsubscribe" in Gmail: RFC 8058 §3.1, a form-encoded POST of exactly this body.
ONE_CLICK = "List-Unsubscribe=One-Click"
_CHECKBOX = re.compile(
    r"""<input type="checkbox" name="topic" value="([^"]*)"( checked)?>\s*([^<]*)<"""
)
Role = Literal["leaves", "clicks", "resumes", "chooses", "reads", "ignores"]
CART_BUTTON = "Back to your cart"  # the reminder's button: Nerve's cart resume link
Act = Callable[[httpx.Client], None]


@dataclass(frozen=True)
class MailProgram:
    name: str
    user_agent: str  # what it loads images with
    on_phone: bool
    protected: bool  # Apple's Mail Privacy Protection: images loaded on arrival, by a proxy


def mail_program(customer: Customer, seed: int) -> MailProgram:
    """The program the customer reads mail in, the same for the whole run."""
    rng = random.Random(f"{seed}:mail-program:{customer.index}")
    on_phone = rng.random() < 0.55
    name, agent = rng.choice(MAIL_PROGRAMS[customer.phone_os if on_phone else "desktop"])
    return MailProgram(name, agent, on_phone, name == "Apple Mail" and rng.random() < 0.6)


@dataclass(frozen=True)
class ReadingFigures:
    prefetched: int  # pixels Apple's privacy proxy loaded on arrival
    read: int  # pixels loaded by the customers' mail programs as they read
    clicked: int  # product links followed
    chose: list[str]  # the names of customers who saved choices on the preference page
    unsubscribed: list[str]  # the names of customers who left with one click


class ReminderReading:
    """Plans what a customer does with a marketing mail, and does it when due (on the inbox's
    thread); what they did goes to `notes` for the screen."""

    def __init__(
        self, base_url: str, notes: queue.SimpleQueue[Text], clicks: MailClicks, seed: int
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._notes = notes
        self._clicks = clicks
        self._seed = seed
        self._lock = threading.Lock()
        self._leaving: set[str] = set()  # addresses decided to leave, perhaps not done yet
        self._first: set[Role] = set()  # the roles someone had already in this run
        self._prefetched = self._read = self._clicked = 0
        self._choosing: set[str] = set()  # addresses decided to choose, perhaps not done yet
        self._chose: dict[str, str] = {}  # address → name of those who saved their choices
        self._left: dict[str, tuple[Customer, str]] = {}  # address → who left, and how

    def plan(
        self, mail: ReceivedMail, customer: Customer, rng: random.Random
    ) -> list[tuple[float, Act]]:
        """What the customer does with the mail: acts and their delays after its arrival, in
        seconds of shop time."""
        program = mail_program(customer, self._seed)
        pixel = open_pixel(mail, self._base_url)
        acts: list[tuple[float, Act]] = []
        if pixel is not None and program.protected:  # Apple's proxy, read or not
            acts.append(
                (rng.uniform(0.5, 3.0), lambda c: self._prefetch(c, customer, pixel, mail.number))
            )
        role, forced = self._role(customer, rng, mail)
        if role == "ignores":
            return acts
        read = rng.uniform(5.0, 40.0)
        if pixel is not None and not program.protected:  # the proxy's copy shows, unseen
            acts.append((read, lambda c: self._open(c, customer, program, pixel, mail.number)))
        later = read + rng.uniform(3.0, 20.0)
        products = [link for link in nerve_links(mail, self._base_url, "l") if _product(link)]
        preferences = preferences_link(mail, self._base_url)
        if role == "leaves" and mail.unsubscribe_url:
            url = mail.unsubscribe_url
            acts.append((later, lambda c: self._unsubscribe(c, customer, url, mail.number)))
        elif role == "clicks" and products:
            link = rng.choice(products)
            acts.append((later, lambda c: self._click(c, customer, program, link, mail.number)))
        elif role == "resumes" and (button := _cart_button(mail, self._base_url)) is not None:
            acts.append((later, lambda c: self._resume(customer, program, button, mail.number)))
        elif role == "chooses" and preferences:
            only = not forced and rng.random() < SWITCHING_SHARE  # the first one adds a topic
            acts.append(
                (later, lambda c: self._choose(c, customer, preferences, only, mail.number))
            )
        return acts

    def figures(self) -> ReadingFigures:
        with self._lock:
            unsubscribed = [c.name for c, how in self._left.values() if how == "unsubscribed"]
            chose = list(self._chose.values())
            return ReadingFigures(self._prefetched, self._read, self._clicked, chose, unsubscribed)

    def unsubscribed(self) -> dict[str, Customer]:
        with self._lock:
            return {a: c for a, (c, how) in self._left.items() if how == "unsubscribed"}

    def left(self) -> dict[str, tuple[Customer, str]]:
        """Who no longer gets reminders, by address, and how they said so."""
        with self._lock:
            return dict(self._left)

    def _role(
        self, customer: Customer, rng: random.Random, mail: ReceivedMail
    ) -> tuple[Role, bool]:
        """What the customer does with the mail, and whether it is a run's first, decided."""
        if customer.regular:  # reads her reminders, and stays: the demo follows her messages
            return "reads", False
        with self._lock:
            if customer.email in self._leaving:
                return "ignores", False
            first = not self._leaving
            if mail.unsubscribe_url and (first or rng.random() < UNSUBSCRIBING_SHARE):
                # decided now: a second mail before the click must not decide again
                self._leaving.add(customer.email)
                return "leaves", first
            if "clicks" not in self._first:
                self._first.add("clicks")
                return "clicks", True
            if "resumes" not in self._first:
                self._first.add("resumes")
                return "resumes", True
            if "chooses" not in self._first:
                self._first.add("chooses")
                self._choosing.add(customer.email)
                return "chooses", True
            if rng.random() >= READING_SHARE:
                return "ignores", False
            roll = rng.random()
            if roll < CLICKING_SHARE:
                return "clicks" if rng.random() < 0.5 else "resumes", False
            if roll < CLICKING_SHARE + CHOOSING_SHARE and customer.email not in self._choosing:
                self._choosing.add(customer.email)  # once is enough
                return "chooses", False
            return "reads", False

    def _prefetch(self, client: httpx.Client, customer: Customer, pixel: str, number: int) -> None:
        if not self._loaded(client, pixel, APPLE_PRIVACY_PROXY, customer, number):
            return
        with self._lock:
            self._prefetched += 1
            first = self._prefetched == 1
        if first:  # the status line counts Nerve's opens; this one says why some are missing
            self._notes.put(
                Text.assemble(
                    ("◌ ", "dim"), "Apple's privacy proxy loaded the open pixel of mail",
                    f" {number} for ", (customer.name, "bold"), " as it arrived (user agent"
                    f" “{APPLE_PRIVACY_PROXY}”): nobody read it yet, and Nerve does not count it"
                    " as an open",
                )
            )  # fmt: skip

    def _open(
        self, client: httpx.Client, customer: Customer, program: MailProgram, pixel: str,
        number: int,
    ) -> None:  # fmt: skip
        if not self._loaded(client, pixel, program.user_agent, customer, number):
            return
        with self._lock:
            self._read += 1
            first = self._read == 1
        if first:  # thirty such lines say nothing: the status line counts the opens
            self._notes.put(
                Text.assemble(
                    ("◉ ", "cyan"), (customer.name, "bold"), f" read mail {number} in"
                    f" {program.name}, which loaded its open pixel: Nerve logged “Email Opened”;"
                    " the status line counts the opens",
                )
            )  # fmt: skip

    def _loaded(
        self, client: httpx.Client, pixel: str, agent: str, customer: Customer, number: int
    ) -> bool:
        answer = client.get(pixel, headers={"User-Agent": agent})
        if answer.status_code != 200 or answer.headers.get("content-type") != "image/gif":
            self._problem(f"the open pixel of mail {number} for {customer.name}", answer)
            return False
        return True

    def _click(
        self, client: httpx.Client, customer: Customer, program: MailProgram, link: Link,
        number: int,
    ) -> None:  # fmt: skip
        """Follow the link as far as Nerve's redirect, see that it leads to the product, and
        hand the rest of the visit to the customers' thread."""
        browser = browser_for(customer, program.on_phone)
        agent = str(browser.context.get("userAgent"))
        answer = client.get(link.url, headers={"User-Agent": agent}, follow_redirects=False)
        target = answer.headers.get("location", "")
        item = _product(link)
        query = parse_qs(urlsplit(target).query)
        if answer.status_code != 302 or item is None or not target.startswith(f"{item.url}?") \
                or not query.get("utm_campaign"):  # fmt: skip
            self._problem(f"the link “{link.words}” in mail {number}", answer)
            return
        node = query.get("utm_content", [""])[0]
        mail = f"the {STEP_MAILS.get(node, 'mail').lower()} (mail {number})"
        with self._lock:
            self._clicked += 1
        self._notes.put(
            Text.assemble(
                ("↗ ", "green"), (customer.name, "bold"), f" clicked “{item.name}” in {mail},"
                f" redirected to {item.path} (utm_campaign={query['utm_campaign'][0]})"
                " → back in the shop",
            )
        )  # fmt: skip
        self._clicks.clicked(MailClick(customer, item, target, mail, program.on_phone))

    def _resume(self, customer: Customer, program: MailProgram, link: Link, number: int) -> None:
        """Press the cart button: Nerve's resume link (`/r/TOKEN`, not behind the click
        redirect: Nerve does not track its own pages), which the browser the mail program opens
        follows on the customers' thread."""
        browser = browser_for(customer, program.on_phone)
        mail = f"the cart reminder (mail {number})"
        with self._lock:
            self._clicked += 1
        self._notes.put(
            Text.assemble(
                ("↺ ", "green"), (customer.name, "bold"), f" pressed “{link.words}” in {mail}"
                f" on their {browser.label}: Nerve's resume link /r/… restores the cart there",
            )
        )  # fmt: skip
        self._clicks.clicked(MailClick(customer, None, link.url, mail, program.on_phone))

    def _choose(
        self, client: httpx.Client, customer: Customer, page: str, only: bool, number: int
    ) -> None:
        """Open the preference page, tick back-in-stock (and untick the newsletter, when
        `only`), and save, as the browser posts the form."""
        headers = {"User-Agent": str(browser_for(customer, False).context.get("userAgent"))}
        shown = client.get(page, headers=headers)
        boxes = {value: (bool(checked), html.unescape(title).strip())
                 for value, checked, title in _CHECKBOX.findall(shown.text)}  # fmt: skip
        if shown.status_code != 200 or BACK_IN_STOCK.name not in boxes:
            self._problem(f"the preference page of mail {number}", shown)
            return
        chosen = {name for name, (checked, _) in boxes.items() if checked and not only}
        chosen.add(BACK_IN_STOCK.name)
        form = {"topic": sorted(chosen), "save": "1"}
        headers |= {"Referer": page, "Origin": self._base_url}
        saved = client.post(page, data=form, headers=headers)
        if saved.status_code != 200 or "Saved" not in saved.text:
            self._problem(f"the preference page of mail {number}", saved)
            return
        kept = " and ".join(f"“{boxes[name][1]}”" for name in sorted(chosen - {BACK_IN_STOCK.name}))
        with self._lock:
            self._chose[customer.email] = customer.name
            if only:
                self._left[customer.email] = (
                    customer,
                    "left the newsletter on the preference page",
                )
        added = f"“{boxes[BACK_IN_STOCK.name][1]}”"
        line = Text.assemble(("☑ ", "green"), (customer.name, "bold"))
        if only:
            line.append(f" chose only {added} on the preference page of mail {number}: no more"
                        " cart reminders, which go to the newsletter's subscribers")  # fmt: skip
        else:
            line.append(f" ticked {added} on the preference page of mail {number}"
                        + (f", beside {kept}" if kept else "")
                        + " (the form's POST, as their browser sends it)")  # fmt: skip
        self._notes.put(line)

    def _unsubscribe(self, client: httpx.Client, customer: Customer, url: str, number: int) -> None:
        answer = client.post(
            url, content=ONE_CLICK, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        if answer.status_code != 200:
            self._problem(f"the unsubscribe of mail {number} for {customer.name}", answer)
            return
        customer.unsubscribed = True
        with self._lock:
            self._left[customer.email] = (customer, "unsubscribed")
        self._notes.put(
            Text.assemble(
                ("✗ ", "red"), (customer.name, "bold"),
                f" unsubscribed with one click in mail {number} (the POST Gmail's button makes):"
                " Nerve sends them no more marketing mail",
            )
        )  # fmt: skip

    def _problem(self, what: str, answer: httpx.Response) -> None:
        self._notes.put(Text(f"  {what} did not work: HTTP {answer.status_code}", style="red"))


def _cart_button(mail: ReceivedMail, base_url: str) -> Link | None:
    return next((link for link in nerve_links(mail, base_url, "r") if link.words == CART_BUTTON),
                None)  # fmt: skip


def _product(link: Link) -> Product | None:
    """The product a link in a reminder stands for: the link's words are its name."""
    return next((item for item in PRODUCTS if item.name == link.words), None)
