"""Reading bounce and complaint mails as mail servers and mailbox providers write them: a
Postfix DSN (RFC 3464), a delayed one, a 4.x.x failure, a success notice, a report forwarded as
an attachment, the RFC 5965 abuse report, and mails that are neither."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from nerve.channels.feedback import Feedback, message_id_of, parse
from nerve.errors import InvalidInput

# As Postfix 3 writes it (bounce(8)), returning the headers only.
POSTFIX_DSN = b"""\
Return-Path: <>
Delivered-To: bounces@shop.example
Date: Mon, 30 Nov 2026 10:00:01 +0100 (CET)
From: MAILER-DAEMON@mail.shop.example (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: hello@shop.example
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="3F2A81C0A2B.1764493201/mail.shop.example"
Content-Transfer-Encoding: 8bit
Message-Id: <20261130090001.3F2A81C0A2B@mail.shop.example>

This is a MIME-encapsulated message.

--3F2A81C0A2B.1764493201/mail.shop.example
Content-Description: Notification
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

This is the mail system at host mail.shop.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<gone@example.com>: host mx.example.com[203.0.113.5] said: 550 5.1.1
    <gone@example.com>: Recipient address rejected: User unknown in virtual
    mailbox table (in reply to RCPT TO command)

--3F2A81C0A2B.1764493201/mail.shop.example
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.shop.example
X-Postfix-Queue-ID: 3F2A81C0A2B
X-Postfix-Sender: rfc822; hello@shop.example
Arrival-Date: Mon, 30 Nov 2026 09:59:58 +0100 (CET)

Final-Recipient: rfc822; gone@example.com
Original-Recipient: rfc822;Gone@Example.com
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.com
Diagnostic-Code: smtp; 550 5.1.1 <gone@example.com>: Recipient address rejected:
    User unknown in virtual mailbox table

Final-Recipient: rfc822; full@example.org
Action: delayed
Status: 4.2.2
Diagnostic-Code: smtp; 452 4.2.2 Mailbox full
Will-Retry-Until: Mon, 5 Dec 2026 09:59:58 +0100 (CET)

Final-Recipient: rfc822; fine@example.net
Action: delivered
Status: 2.0.0

--3F2A81C0A2B.1764493201/mail.shop.example
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers
Content-Transfer-Encoding: 8bit

Return-Path: <hello@shop.example>
From: Example Shop <hello@shop.example>
To: gone@example.com
Subject: Anna, your Trail Runner 2
Message-ID: <0123456789abcdef@shop.example>
Date: Mon, 30 Nov 2026 09:59:57 +0100

--3F2A81C0A2B.1764493201/mail.shop.example--
"""

# RFC 5965 appendix B.2, the returned message whole.
ARF = b"""\
From: <abusedesk@example.com>
Date: Thu, 8 Mar 2026 17:40:36 +0000
Subject: FW: Earn money
To: <fbl@shop.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
     boundary="part1_13d.2e68ed54_boundary"

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
192.0.2.1 on Thu, 8 Mar 2026 14:00:00 +0000.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <hello@shop.example>
Original-Rcpt-To: <fed.up@example.com>
Arrival-Date: Thu, 8 Mar 2026 14:00:00 +0000
Reporting-MTA: dns; mail.example.com
Source-IP: 192.0.2.1

--part1_13d.2e68ed54_boundary
Content-Type: message/rfc822
Content-Disposition: inline

From: Example Shop <hello@shop.example>
To: fed.up@example.com
Subject: Weekly news
MIME-Version: 1.0
Content-type: text/plain
Message-ID: <fedcba9876543210@shop.example>
Date: Thu, 08 Mar 2026 13:59:00 +0000

News News News
--part1_13d.2e68ed54_boundary--
"""


def test_a_postfix_dsn_is_one_hard_bounce_one_soft_and_skips_the_delivery() -> None:
    hard, soft = parse(POSTFIX_DSN)
    assert hard == Feedback(
        "bounce", "Gone@Example.com", True, "<0123456789abcdef@shop.example>",
        "5.1.1 failed smtp; 550 5.1.1 <gone@example.com>: Recipient address rejected: User "
        "unknown in virtual mailbox table",
    )  # fmt: skip
    assert (soft.email, soft.permanent) == ("full@example.org", False)
    assert soft.detail == "4.2.2 delayed smtp; 452 4.2.2 Mailbox full"


def test_a_failure_after_retrying_a_full_mailbox_is_not_permanent() -> None:
    gave_up = POSTFIX_DSN.replace(b"Status: 5.1.1", b"Status: 4.2.2")
    assert parse(gave_up)[0].permanent is False


def test_a_notice_of_successful_delivery_asks_for_nothing() -> None:
    start = POSTFIX_DSN.index(b"Final-Recipient: rfc822; gone")
    end = POSTFIX_DSN.index(b"Final-Recipient: rfc822; fine")
    assert parse(POSTFIX_DSN[:start] + POSTFIX_DSN[end:]) == []


def test_an_abuse_report_is_a_complaint_about_its_message() -> None:
    message_id = "<fedcba9876543210@shop.example>"
    detail = "abuse report (dns; mail.example.com)"
    assert parse(ARF) == [Feedback("complaint", "fed.up@example.com", True, message_id, detail)]
    redacted = ARF.replace(b"Original-Rcpt-To: <fed.up@example.com>\n", b"")
    [complaint] = parse(redacted)
    assert complaint.email is None  # the message log knows it from the Message-ID
    assert complaint.message_id == "<fedcba9876543210@shop.example>"
    assert parse(ARF.replace(b"Feedback-Type: abuse", b"Feedback-Type: not-spam")) == []


def test_a_report_forwarded_as_an_attachment_is_read() -> None:
    forward = EmailMessage()
    forward["From"] = "postmaster@shop.example"
    forward["Subject"] = "Fwd: Undelivered Mail Returned to Sender"
    forward.set_content("See the attached bounce.")
    forward.add_attachment(POSTFIX_DSN, maintype="message", subtype="rfc822")
    [hard, _] = parse(forward.as_bytes())
    assert hard.message_id == "<0123456789abcdef@shop.example>" and hard.permanent


@pytest.mark.parametrize(
    "raw",
    [
        b"From: anna@example.com\r\nSubject: Out of office\r\n\r\nBack on Monday.\r\n",
        b"",
        b"\xff\xfe not a mail at all \x00",
        POSTFIX_DSN.split(b"Final-Recipient")[0] + b"\n--3F2A81C0A2B.1764493201/mail.shop"
        b".example--\n",
    ],
)
def test_a_mail_that_is_no_report_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidInput):
        parse(raw)


def test_message_ids_are_kept_as_the_log_keeps_them() -> None:
    assert message_id_of(" abc@shop.example ") == "<abc@shop.example>"
    assert message_id_of("<abc@shop.example>") == "<abc@shop.example>"
    assert message_id_of("") is None and message_id_of("x" * 300) is None
