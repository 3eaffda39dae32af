"""A Twilio-shaped SMS provider on loopback: the Messages resource (form POST, HTTP Basic with
the account SID and auth token), answering as Twilio does — 201 with the message's `sid`, a
JSON error with Twilio's code otherwise — and recording every request."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

ACCOUNT = "AC0123456789abcdef0123456789abcdef"
TOKEN = "twilio-auth-token-1"
SENDER = "+4930123456"


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class TwilioReceiver:
    account: str = ACCOUNT
    token: str = TOKEN
    answers: list[int] = field(default_factory=list)  # answer these statuses first
    invalid: set[str] = field(default_factory=set)  # numbers answered 400, error 21211
    requests: list[Request] = field(default_factory=list)  # every request
    sent: list[Request] = field(default_factory=list)  # those answered 201

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                form = {k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
                request = Request(self.path, dict(self.headers), form)
                receiver.requests.append(request)
                status, body = receiver.answer(request)
                if status == 201:
                    receiver.sent.append(request)
                content = json.dumps(body).encode()
                with contextlib.suppress(OSError):
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)

            def log_message(self, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, request: Request) -> tuple[int, dict[str, Any]]:
        basic = base64.b64encode(f"{self.account}:{self.token}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {basic}":
            return 401, _error(20003, "Authenticate", 401)
        if request.path != f"/2010-04-01/Accounts/{self.account}/Messages.json":
            return 404, _error(20404, "The requested resource was not found", 404)
        if self.answers:
            status = self.answers.pop(0)
            return status, _error(20429 if status == 429 else 20500, "Try later", status)
        if request.form.get("To") in self.invalid:
            return 400, _error(21211, "The 'To' number is not a valid phone number.", 400)
        sid = f"SM{len(self.sent):032x}"
        return 201, {"sid": sid, "status": "queued", "to": request.form.get("To"),
                     "body": request.form.get("Body"), "account_sid": self.account}  # fmt: skip

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _error(code: int, message: str, status: int) -> dict[str, Any]:
    return {"code": code, "message": message, "status": status,
            "more_info": f"https://www.twilio.com/docs/errors/{code}"}  # fmt: skip
