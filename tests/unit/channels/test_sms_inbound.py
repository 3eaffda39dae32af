"""The parts of an SMS reply that need no database: Twilio's request signature (checked
against the example in Twilio's documentation) and which replies are STOP or START."""

from __future__ import annotations

import pytest

from nerve.channels.sms.inbound import keyword_of, signature, verifies

# Twilio's documented example ("Validating requests are coming from Twilio").
TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"), ("Digits", "1234"),
          ("From", "+12349013030"), ("To", "+18005551212")]  # fmt: skip
EXPECTED = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_the_signature_is_twilios() -> None:
    assert signature(TOKEN, URL, PARAMS) == EXPECTED
    assert signature(TOKEN, URL, list(reversed(PARAMS))) == EXPECTED  # sorted by name


def test_a_changed_field_url_or_token_does_not_verify() -> None:
    assert verifies(TOKEN, [URL], PARAMS, EXPECTED)
    assert not verifies(TOKEN, [URL], [*PARAMS[:-1], ("To", "+18005551213")], EXPECTED)
    assert not verifies(TOKEN, [URL.replace("foo=1", "foo=2")], PARAMS, EXPECTED)
    assert not verifies("54321", [URL], PARAMS, EXPECTED)
    assert not verifies(TOKEN, [URL], PARAMS, "")


def test_the_url_verifies_with_or_without_its_default_port() -> None:
    with_port = URL.replace("mycompany.com", "mycompany.com:443")
    assert verifies(TOKEN, [with_port], PARAMS, EXPECTED)
    signed_with_port = signature(TOKEN, with_port, PARAMS)
    assert verifies(TOKEN, [URL], PARAMS, signed_with_port)
    assert not verifies(TOKEN, [URL.replace("mycompany.com", "mycompany.com:8443")], PARAMS,
                        EXPECTED)  # fmt: skip


@pytest.mark.parametrize(
    ("body", "keyword"),
    [("STOP", "stop"), (" stop ", "stop"), ("Stop.", "stop"), ("stopall", "stop"),
     ("UNSUBSCRIBE", "stop"), ("cancel", "stop"), ("End", "stop"), ("quit!", "stop"),
     ("START", "start"), ("unstop", "start"), ("please stop", "other"), ("", "other"),
     ("STOPP", "other"), ("yes", "other")],
)  # fmt: skip
def test_keywords(body: str, keyword: str) -> None:
    assert keyword_of(body) == keyword
