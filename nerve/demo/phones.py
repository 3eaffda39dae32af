"""The demo's stand-in for the phone network: one small HTTP server on 127.0.0.1 that speaks as an
SMS provider (Twilio's Messages resource) and as Firebase Cloud Messaging (HTTP v1) do, so that
Nerve sends the demo's SMS and app pushes as it would to the real ones, and the demo can show
what would have reached each customer's phone.

    POST /2010-04-01/Accounts/{AccountSid}/Messages.json   Basic AccountSid:AuthToken, a form
    POST /v1/projects/{project}/messages:send              Bearer access token, JSON

Like the real services, it checks the credentials (Nerve's secrets `sms.auth_token` and
`push.fcm_access_token`) and answers with a message id; it keeps the last messages in memory.
"""

from __future__ import annotations

import base64
import contextlib
import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs

import orjson

HOST = "127.0.0.1"
KEEP = 200  # messages kept for the page; older ones are forgotten, as the demo runs for hours
ACCOUNT_SID = "AC5d7e0a1b2c3d4e5f60718293a4b5c6d7"  # shaped like Twilio's: AC and 32 hex digits
# The shop's sender, from the range the Bundesnetzagentur keeps for fiction (030 23125xxx).
SENDER = "+493023125000"
FCM_PROJECT = "strideandtrail-app"
_SMS_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
_FCM_PATH = f"/v1/projects/{FCM_PROJECT}/messages:send"
_MAX_BODY = 100_000


@dataclass(eq=False)
class PhoneMessage:
    number: int  # 1, 2, ... in order of arrival
    received_at: datetime
    kind: Literal["sms", "push"]
    to: str  # the phone number (E.164), or the app's FCM registration token
    body: str
    title: str | None = None  # a push's title
    url: str | None = None  # what a tap on the push opens
    provider_id: str = ""  # the SMS's sid, the push's FCM message name
    message_id: str | None = None  # Nerve's, which a push carries in its data
    idempotency_key: str | None = None  # Nerve's, which an SMS request carries
    # What sent it, from Nerve's message log (a flow's step), once the demo knows.
    sent_by: str | None = None


class PhoneNetwork:
    """Listens on a free loopback port from construction; `start` serves, `stop` ends."""

    def __init__(self, keep: int = KEEP) -> None:
        self._lock = threading.Lock()
        self._messages: deque[PhoneMessage] = deque(maxlen=keep)
        self._counts = {"sms": 0, "push": 0}
        self._sms_token: str | None = None
        self._fcm_token: str | None = None
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="nerve-demo-phones", daemon=True
        )

    @property
    def url(self) -> str:
        """NERVE_SMS_URL and NERVE_PUSH_FCM_URL for this server."""
        return f"http://{HOST}:{self._server.server_address[1]}"

    def credentials(self, sms_token: str, fcm_token: str) -> None:
        """The tokens Nerve must send: those it keeps as its secrets."""
        with self._lock:
            self._sms_token, self._fcm_token = sms_token, fcm_token

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def count(self, kind: Literal["sms", "push"]) -> int:
        """Messages of this kind received since the demo started, forgotten ones too."""
        with self._lock:
            return self._counts[kind]

    def messages(self) -> list[PhoneMessage]:
        """The messages kept, newest first."""
        with self._lock:
            return list(reversed(self._messages))

    def after(self, number: int) -> list[PhoneMessage]:
        """The messages kept that arrived after message `number`, oldest first."""
        with self._lock:
            return [message for message in self._messages if message.number > number]

    def authorised(self, kind: str, header: str | None) -> bool:
        with self._lock:
            sms, fcm = self._sms_token, self._fcm_token
        if kind == "sms" and sms is not None:
            basic = base64.b64encode(f"{ACCOUNT_SID}:{sms}".encode()).decode()
            return header == f"Basic {basic}"
        return kind == "push" and fcm is not None and header == f"Bearer {fcm}"

    def receive(self, kind: Literal["sms", "push"], **fields: Any) -> PhoneMessage:
        with self._lock:
            self._counts[kind] += 1
            number = sum(self._counts.values())
            provider_id = f"SM{number:032x}" if kind == "sms" else \
                f"projects/{FCM_PROJECT}/messages/0:{number}"  # fmt: skip
            message = PhoneMessage(number, datetime.now(UTC), kind, provider_id=provider_id,
                                   **fields)  # fmt: skip
            self._messages.append(message)
        return message


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stuck sender must not keep the demo from stopping

    def __init__(self, network: PhoneNetwork) -> None:
        super().__init__((HOST, 0), _Handler)
        self.network = network


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Nerve's pooled client expects
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if not 0 < length <= _MAX_BODY:
            self.close_connection = True  # the body is left unread
        raw = self.rfile.read(length) if 0 < length <= _MAX_BODY else b""
        kind = {_SMS_PATH: "sms", _FCM_PATH: "push"}.get(self.path)
        if kind is None:
            self._answer(HTTPStatus.NOT_FOUND, _twilio_error(20404, "Not found", 404))
            return
        if not self.server.network.authorised(kind, self.headers.get("authorization")):
            body = _twilio_error(20003, "Authenticate", 401) if kind == "sms" else \
                _fcm_error(401, "UNAUTHENTICATED", "Request had invalid credentials.")  # fmt: skip
            self._answer(HTTPStatus.UNAUTHORIZED, body)
            return
        if kind == "sms":
            self._sms(raw)
        else:
            self._push(raw)

    def _sms(self, raw: bytes) -> None:
        form = {k: v[0] for k, v in parse_qs(raw.decode(errors="replace")).items()}
        if not form.get("To") or not form.get("Body"):
            self._answer(HTTPStatus.BAD_REQUEST, _twilio_error(21604, "'To' and 'Body' are "
                                                               "required", 400))  # fmt: skip
            return
        sms = self.server.network.receive(
            "sms", to=form["To"], body=form["Body"],
            idempotency_key=self.headers.get("idempotency-key"),
        )  # fmt: skip
        self._answer(HTTPStatus.CREATED, {
            "sid": sms.provider_id, "account_sid": ACCOUNT_SID, "status": "queued",
            "to": sms.to, "from": form.get("From"), "body": sms.body,
        })  # fmt: skip

    def _push(self, raw: bytes) -> None:
        try:
            message = orjson.loads(raw).get("message") or {}
            token = str(message["token"])
            notification = message.get("notification") or {}
            data = message.get("data") or {}
        except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError):
            self._answer(HTTPStatus.BAD_REQUEST,
                         _fcm_error(400, "INVALID_ARGUMENT", "not an FCM message"))  # fmt: skip
            return
        push = self.server.network.receive(
            "push", to=token, title=notification.get("title"),
            body=str(notification.get("body") or ""), url=data.get("url"),
            message_id=data.get("message_id"),
        )  # fmt: skip
        self._answer(HTTPStatus.OK, {"name": push.provider_id})

    def _answer(self, status: HTTPStatus, body: dict[str, Any]) -> None:
        content = orjson.dumps(body)
        with contextlib.suppress(OSError):  # the caller may have hung up
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the demo's screen and pages show what arrived."""


def _twilio_error(code: int, message: str, status: int) -> dict[str, Any]:
    return {"code": code, "message": message, "status": status,
            "more_info": f"https://www.twilio.com/docs/errors/{code}"}  # fmt: skip


def _fcm_error(code: int, status: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "status": status, "message": message}}
