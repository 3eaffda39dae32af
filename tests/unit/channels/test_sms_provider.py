"""What a Twilio-shaped answer means for the message, and the recording provider staging
uses: it keeps (and writes down) what would have gone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nerve.channels.sms.provider import Account, RecordingProvider, Refused, SmsMessage, answer
from nerve.channels.smtp import SendDeferred


def _error(code: int, message: str = "no") -> bytes:
    return json.dumps({"code": code, "message": message, "status": 400}).encode()


def test_a_2xx_is_sent_with_the_providers_sid() -> None:
    body = json.dumps({"sid": "SM42", "status": "queued", "num_segments": "1"}).encode()
    assert answer(201, body) == {"sid": "SM42", "provider_status": "queued"}
    assert answer(200, b"not json") == {}


@pytest.mark.parametrize("status", [429, 500, 502, 503, 408])
def test_busy_or_down_is_retried(status: int) -> None:
    with pytest.raises(SendDeferred, match=f"answered {status}"):
        answer(status, _error(20429, "Too many requests"))


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_wrong_account_is_retried_then_dead_lettered_not_blamed_on_the_message(
    status: int,
) -> None:
    with pytest.raises(SendDeferred, match=r"sms\.auth_token"):
        answer(status, _error(20003, "Authenticate"))


@pytest.mark.parametrize(
    ("code", "suppress"),
    [(21211, "hard_bounce"), (21614, "hard_bounce"), (21610, "unsubscribed"), (21408, None)],
)
def test_a_4xx_refuses_the_message_and_some_suppress_the_number(
    code: int, suppress: str | None
) -> None:
    with pytest.raises(Refused) as refused:
        answer(400, _error(code, "The 'To' number is not valid"))
    assert refused.value.suppress == suppress and refused.value.code == code
    assert str(refused.value) == (f"SMS provider refused the message (400, error {code}: "
                                  "The 'To' number is not valid)")  # fmt: skip


def test_a_refusal_without_json_keeps_the_start_of_the_answer() -> None:
    with pytest.raises(Refused, match="400: bad gateway says no") as refused:
        answer(400, b"bad gateway says no")
    assert refused.value.suppress is None


def test_the_recording_provider_keeps_and_writes_what_would_go(tmp_path: Path) -> None:
    path = tmp_path / "sms.jsonl"
    provider = RecordingProvider(path)
    account = Account("AC1", "", sender="+4930123456")
    message = SmsMessage("+4915123456789", "Hi Anna 👋", "sms-1", "run:remind:1")
    first = provider.send(account, message)
    assert first["sid"].startswith("SM") and first == provider.send(account, message)
    [line, again] = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(line) == {"to": "+4915123456789", "body": "Hi Anna 👋",
                                "message_id": "sms-1", "idempotency_key": "run:remind:1",
                                "sid": first["sid"], "from": "+4930123456"}  # fmt: skip
    assert len(provider.sent) == 2 and line == again
    provider.defer["+4915123456789"] = "gateway busy"
    with pytest.raises(SendDeferred, match="gateway busy"):
        provider.send(account, message)


def test_the_token_never_shows_in_an_accounts_repr() -> None:
    assert "secret-token" not in repr(Account("AC1", "secret-token", "+4930123456"))
