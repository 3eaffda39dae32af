"""What the demo's screen says about mail: a line per mail as it arrives, with the link to its
page; what the customers did with their mail (confirmed a sign-up, read, clicked, chose topics,
unsubscribed) and what came of a click; and each reminder Nerve skipped for a customer who had
left.

Asked once a second by the screen's thread, which alone reads the message log.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from nerve.demo.cart_flow import STEP_MAILS
from nerve.demo.inbox import Inbox
from nerve.demo.mail_links import confirmation_link
from nerve.demo.mail_pages import PATH
from nerve.demo.mail_visits import ClickFigures, MailClicks
from nerve.demo.mailbox import DemoMailbox, ReceivedMail
from nerve.demo.people import Customer
from nerve.demo.sends import Send, SendLog

CONFIRMATION = "Sign-up confirmation"


@dataclass(frozen=True)
class MailFigures:
    received: int  # mails the demo's SMTP server got
    confirmations: int  # of them, double opt-in confirmation mails
    confirmed: int  # sign-ups confirmed by a click
    reminders: int  # cart reminders the flow sent
    skipped: int  # cart reminders the flow skipped (no consent, no address)
    skip_reasons: list[tuple[str, int]]  # the reasons, most frequent first
    unsubscribed: list[str]  # the names of customers who left with one click
    opened: int  # cart reminders opened or clicked, as Nerve's message log counts them
    clicked: int  # cart reminders clicked, as Nerve's message log counts them
    prefetched: int  # open pixels Apple's privacy proxy loaded on arrival (not opens)
    chose: list[str]  # the names of customers who saved choices on the preference page
    clicks: ClickFigures  # the visits clicks began, and their orders


class MailFeed:
    def __init__(
        self,
        mailbox: DemoMailbox,
        sends: SendLog,
        inbox: Inbox,
        clicks: MailClicks,
        customers: list[Customer],
        base_url: str,
    ) -> None:
        self._mailbox = mailbox
        self._sends = sends
        self._inbox = inbox
        self._clicks = clicks
        self._customers = {customer.email: customer for customer in customers}
        self._base_url = base_url
        self._shown = 0  # the number of the last mail shown
        self._confirmations = 0
        self._skips_shown: set[str] = set()  # addresses whose first skipped reminder was shown

    def lines(self) -> list[Text]:
        """What happened since the last call, one line each."""
        arrived = self._mailbox.after(self._shown)  # before the log: their sends are in it
        changed = self._sends.read()
        lines = [self._arrival(mail) for mail in arrived]
        if arrived:
            self._shown = arrived[-1].number
        lines += self._inbox.notes()
        lines += self._clicks.notes()
        left = self._inbox.left()
        for send in changed:
            # The first reminder skipped for someone who left has a line; the later ones say
            # nothing new.
            if send.status == "skipped" and send.recipient in left \
                    and send.recipient not in self._skips_shown:  # fmt: skip
                self._skips_shown.add(send.recipient)
                lines.append(self._skipped(send, *left[send.recipient]))
        return lines

    def figures(self) -> MailFigures:
        skipped = self._sends.skipped
        reading = self._inbox.reading()
        return MailFigures(
            received=self._mailbox.count,
            confirmations=self._confirmations,
            confirmed=self._inbox.confirmed,
            reminders=self._sends.sent,
            skipped=sum(skipped.values()),
            skip_reasons=skipped.most_common(),
            unsubscribed=reading.unsubscribed,
            opened=self._sends.opened,
            clicked=self._sends.clicked,
            prefetched=reading.prefetched,
            chose=reading.chose,
            clicks=self._clicks.figures(),
        )

    def _arrival(self, mail: ReceivedMail) -> Text:
        send = self._sends.by_message_id(mail.header("Message-ID"))
        what = self._what(mail, send)
        mail.sent_by = _sent_by(what, send)
        to = mail.recipients[0] if mail.recipients else mail.to
        customer = self._customers.get(to.lower())
        line = Text.assemble(("✉ ", "cyan"), (what, "bold"), " to ")
        line.append(f"{customer.name} <{to}>" if customer else to)
        line.append(f" → {self._base_url}{PATH}/{mail.number}", style="cyan")
        return line

    def _what(self, mail: ReceivedMail, send: Send | None) -> str:
        if send is not None and send.node in STEP_MAILS:
            return STEP_MAILS[send.node]
        if confirmation_link(mail, self._base_url) is not None:
            self._confirmations += 1
            return CONFIRMATION
        return f"“{mail.subject}”"

    def _skipped(self, send: Send, customer: Customer, how: str) -> Text:
        what = STEP_MAILS.get(send.node or "", "Mail").lower()
        return Text.assemble(
            ("⊘ ", "yellow"), f"No {what} for ", (customer.name, "bold"),
            f", who {how}: Nerve skipped it — {send.reason} (the reminders skipped later are"
            " counted, not shown)",
        )  # fmt: skip


def _sent_by(what: str, send: Send | None) -> str:
    if send is None:
        return what
    if send.flow:
        return f"{what}: flow {send.flow}, step {send.node}, template {send.template}"
    return f"{what} ({send.kind})"
