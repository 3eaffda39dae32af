"""Bounce and complaint mails as mail servers write them, built with the `email` package: a
delivery status notification (RFC 3464) and an abuse report (RFC 5965)."""

from __future__ import annotations

from email.message import EmailMessage


def dsn(message_id: str, recipient: str, status: str = "5.1.1", action: str = "failed") -> bytes:
    """A delivery status notification as Postfix sends it (RFC 3464), built with `email`."""
    report = EmailMessage()
    report["From"] = "MAILER-DAEMON@mx.shop.example (Mail Delivery System)"
    report["To"] = "hello@shop.example"
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report.set_content(f"<{recipient}>: host mx.example.com said: 550 5.1.1 User unknown\n")
    report.make_mixed()
    report.set_type("multipart/report")
    report.set_param("report-type", "delivery-status")
    status_part = EmailMessage()
    per_message = EmailMessage()
    per_message["Reporting-MTA"] = "dns; mx.shop.example"
    per_recipient = EmailMessage()
    per_recipient["Final-Recipient"] = f"rfc822; {recipient}"
    per_recipient["Original-Recipient"] = f"rfc822;{recipient}"
    per_recipient["Action"] = action
    per_recipient["Status"] = status
    per_recipient["Diagnostic-Code"] = f"smtp; 550 {status} <{recipient}>: User unknown"
    status_part.set_type("message/delivery-status")
    status_part.set_payload([per_message, per_recipient])
    report.attach(status_part)
    headers = EmailMessage()
    headers.set_content(f"From: Shop <hello@shop.example>\nTo: {recipient}\n"
                        f"Subject: Your order\nMessage-ID: {message_id}\n")  # fmt: skip
    headers.replace_header("Content-Type", "text/rfc822-headers")
    report.attach(headers)
    return report.as_bytes()


def arf(message_id: str) -> bytes:
    """An abuse report (RFC 5965) whose provider redacted the recipient: only the Message-ID
    of the returned message tells who complained."""
    report = EmailMessage()
    report["From"] = "feedbackloop@mailbox.example"
    report["To"] = "fbl@shop.example"
    report["Subject"] = "Complaint"
    report.set_content("This is an email abuse report.\n")
    report.make_mixed()
    report.set_type("multipart/report")
    report.set_param("report-type", "feedback-report")
    fields = EmailMessage()
    fields["Feedback-Type"] = "abuse"
    fields["User-Agent"] = "MailboxFBL/1.0"
    fields["Version"] = "1"
    part = EmailMessage()
    part.set_type("message/feedback-report")
    part.set_payload([fields])
    report.attach(part)
    original = EmailMessage()
    original["From"] = "Shop <hello@shop.example>"
    original["To"] = "redacted@mailbox.example"
    original["Message-ID"] = message_id
    original.set_content("News")
    report.add_attachment(original)  # message/rfc822
    return report.as_bytes()
