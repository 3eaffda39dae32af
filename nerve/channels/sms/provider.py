"""SMS providers: one speaking Twilio's REST request format (Twilio itself, or any gateway
that copies it, at a configurable base URL) and a recording one for staging and tests.

    POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json
    Authorization: Basic base64(AccountSid:AuthToken)
    To=+4915...&From=+4930...&Body=...          (or MessagingServiceSid=MG... for From)

What the provider answers decides what happens to the message: 2xx sent (its `sid` kept);
429, 5xx, a timeout or a lost connection retried later; a 4xx refuses this message for good,
and for Twilio's "invalid number" and "unsubscribed recipient" codes the number is suppressed
too; 401/403/404 say the account is wrong, not the message, so they are retried and end in
the dead-letter queue, to be replayed once the credentials are fixed.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
from prometheus_client import Counter

from nerve.channels.smtp import SendDeferred, SendRefused
from nerve.outbound import http
from nerve.outbound.policy import OutboundPolicy, OutboundRefused

API_VERSION = "2010-04-01"
# Twilio error codes that say the number itself cannot get SMS: suppressed with this reason.
SUPPRESSING = {
    21211: "hard_bounce",  # the 'To' number is not a valid phone number
    21614: "hard_bounce",  # the 'To' number is not a mobile number
    21610: "unsubscribed",  # the recipient replied STOP to this sender
}
# Answers that blame the account or the URL, not the message.
ACCOUNT_PROBLEMS = (401, 403, 404)
_KEEP_ANSWER = 500

ANSWERS = Counter(
    "nerve_sms_provider_answers_total",
    "The SMS provider's answers: `sent`, `throttled` (429), `down` (5xx, timeouts, no "
    "connection: retried), `account` (401/403/404: retried, then dead-lettered), `refused`",
    ["outcome"],
)


@dataclass(frozen=True)
class Account:
    """Who sends: the account, its token (a workspace secret) and the sender."""

    sid: str
    auth_token: str
    sender: str = ""  # a number in E.164 or an alphanumeric sender id: `From`
    messaging_service_sid: str = ""  # Twilio picks the sender from the service's pool

    def __repr__(self) -> str:  # never the token, in a traceback or a log
        return f"Account(sid={self.sid!r}, sender={self.sender!r})"


@dataclass(frozen=True)
class SmsMessage:
    to: str  # E.164
    body: str
    message_id: str
    idempotency_key: str


class Refused(SendRefused):
    """The provider refused this message for good; `suppress` is the reason the number is
    suppressed for (None: it is not)."""

    def __init__(self, reason: str, suppress: str | None = None, code: int | None = None):
        super().__init__(reason)
        self.suppress, self.code = suppress, code


class Provider(Protocol):
    def send(self, account: Account, message: SmsMessage) -> dict[str, Any]:
        """Hand it over: what the provider answered, for the log (its `sid`). SendDeferred to
        try again later, Refused when this message can never go."""
        ...

    def close(self) -> None: ...


class TwilioProvider:
    """Twilio's Messages resource over one pooled HTTP client under the outbound policy."""

    def __init__(self, base_url: str, outbound: OutboundPolicy, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._outbound, self._timeout = outbound, timeout
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)
        self._client = http.client(outbound, limits=limits)

    def close(self) -> None:
        self._client.close()

    def url(self, account_sid: str) -> str:
        return f"{self.base_url}/{API_VERSION}/Accounts/{account_sid}/Messages.json"

    def send(self, account: Account, message: SmsMessage) -> dict[str, Any]:
        form = {"To": message.to, "Body": message.body}
        if account.messaging_service_sid:
            form["MessagingServiceSid"] = account.messaging_service_sid
        else:
            form["From"] = account.sender
        try:
            url = http.check_url(self._outbound, self.url(account.sid))
            response = self._client.post(
                url, data=form, auth=(account.sid, account.auth_token), timeout=self._timeout,
                headers={"Idempotency-Key": message.idempotency_key},
            )  # fmt: skip
        except OutboundRefused as exc:  # the operator's setting: retried, then dead-lettered
            raise SendDeferred(f"NERVE_SMS_URL is refused by the outbound policy: {exc}") from None
        except httpx.HTTPError as exc:
            ANSWERS.labels("down").inc()
            raise SendDeferred(f"SMS provider unreachable: {type(exc).__name__}: {exc}") from exc
        return answer(response.status_code, response.content)


def answer(status: int, content: bytes) -> dict[str, Any]:
    """What a Twilio-shaped answer means: the log's details, or the exception to raise."""
    body = _json(content)
    if 200 <= status < 300:
        ANSWERS.labels("sent").inc()
        found = {"sid": body.get("sid"), "provider_status": body.get("status")}
        return {key: value for key, value in found.items() if isinstance(value, str)}
    code = body.get("code") if isinstance(body.get("code"), int) else None
    text = str(body.get("message") or content[:_KEEP_ANSWER].decode(errors="replace")).strip()
    said = f"{status}{f', error {code}' if code else ''}{f': {text}' if text else ''}"
    if status == 429 or status >= 500 or status == 408:
        ANSWERS.labels("throttled" if status == 429 else "down").inc()
        raise SendDeferred(f"SMS provider answered {said}")
    if status in ACCOUNT_PROBLEMS:
        ANSWERS.labels("account").inc()
        raise SendDeferred(
            f"SMS provider refused the account ({said}): check NERVE_SMS_ACCOUNT_SID, "
            "NERVE_SMS_URL and the secret sms.auth_token, then replay the dead letters"
        )
    ANSWERS.labels("refused").inc()
    suppress = SUPPRESSING.get(code) if code is not None else None
    raise Refused(f"SMS provider refused the message ({said})", suppress, code)


def _json(content: bytes) -> dict[str, Any]:
    try:
        data = json.loads(content)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


@dataclass
class RecordingProvider:
    """Sends nothing: keeps each message (and appends it to a JSON-lines file when given), for
    staging and tests. `refuse` and `defer` map a number to what to answer for it instead."""

    path: Path | None = None
    sent: list[dict[str, Any]] = field(default_factory=list)
    refuse: dict[str, Refused] = field(default_factory=dict)
    defer: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def send(self, account: Account, message: SmsMessage) -> dict[str, Any]:
        if message.to in self.defer:
            raise SendDeferred(self.defer[message.to])
        if message.to in self.refuse:
            raise self.refuse[message.to]
        sid = "SM" + hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]
        record = {**asdict(message), "sid": sid, "from": account.sender or None}
        with self._lock:
            self.sent.append(record)
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as file:
                    file.write(json.dumps(record, ensure_ascii=False) + "\n")
        return {"sid": sid, "provider_status": "recorded"}

    def close(self) -> None:
        """Nothing to close."""
