"""Mobile apps through Firebase Cloud Messaging's HTTP v1 API (or anything speaking its format):
`POST {endpoint}/v1/projects/{project}/messages:send` with a bearer token.

The token is an OAuth 2.0 access token of a service account with the Firebase Messaging scope,
kept as the secret `push.fcm_access_token` (it lives an hour: docs/channels.md shows how to keep
it fresh). An app's device token FCM no longer knows (UNREGISTERED, 404) is removed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from nerve.channels.push.providers import Answer, Options, Target, outcome_of
from nerve.outbound import http
from nerve.outbound.policy import OutboundPolicy, OutboundRefused

SECRET = "push.fcm_access_token"
TIMEOUT_SECONDS = 10.0
# FCM's error codes (google.firebase.fcm.v1.FcmError) that say the token is dead for good.
GONE = ("UNREGISTERED",)
RETRY = ("UNAVAILABLE", "INTERNAL", "QUOTA_EXCEEDED")


@dataclass(frozen=True)
class Credentials:
    project: str
    access_token: str


def message(target: Target, payload: dict[str, Any], options: Options) -> dict[str, Any]:
    """The HTTP v1 message: the notification the system shows, and the rest as `data` (whose
    values FCM takes as strings only)."""
    notification = {k: payload[k] for k in ("title", "body", "image") if payload.get(k)}
    data = {k: str(v) for k, v in payload.items() if k not in ("title", "body") and v}
    android = {"ttl": f"{options.ttl}s",
               "priority": "high" if options.urgency == "high" else "normal"}  # fmt: skip
    return {"message": {"token": target.endpoint, "notification": notification, "data": data,
                        "android": android}}  # fmt: skip


class Fcm:
    kind = "fcm"

    def __init__(self, client: httpx.Client, outbound: OutboundPolicy, endpoint: str) -> None:
        self._client, self._outbound = client, outbound
        self.endpoint = endpoint.rstrip("/")

    def send(
        self, target: Target, payload: dict[str, Any], options: Options, credentials: Any
    ) -> Answer:
        found: Credentials = credentials
        address = f"{self.endpoint}/v1/projects/{found.project}/messages:send"
        try:
            url = http.check_url(self._outbound, address)
            response = self._client.post(
                url, content=orjson.dumps(message(target, payload, options)),
                headers={"Authorization": f"Bearer {found.access_token}",
                         "Content-Type": "application/json"},
                timeout=TIMEOUT_SECONDS,
            )  # fmt: skip
        except OutboundRefused as exc:
            return Answer(target, "refused", None, self.endpoint,
                          f"refused by the outbound policy: {exc}")  # fmt: skip
        except httpx.HTTPError as exc:
            return Answer(target, "retry", None, self.endpoint, f"{type(exc).__name__}: {exc}")
        return _answer(target, self.endpoint, response)


def _answer(target: Target, service: str, response: httpx.Response) -> Answer:
    status = response.status_code
    if status < 300:
        return Answer(target, "delivered", status, service, _name(response))
    code, text = _error(response)
    if code in GONE or (status == 404 and code == "NOT_FOUND"):
        return Answer(target, "gone", status, service, code)
    if status == 404:  # a path FCM does not serve (a wrong project?) must not empty the table
        note = "404 without FCM's error: check NERVE_PUSH_FCM_URL and the project"
        return Answer(target, "refused", status, service, note)
    if status == 401:  # the access token expired or was revoked: a fresh one will do
        return Answer(target, "retry", status, service,
                      f"FCM refused the access token: refresh the secret {SECRET}")  # fmt: skip
    outcome = "retry" if code in RETRY else outcome_of(status)
    return Answer(target, outcome, status, service, f"{code}: {text}" if code else text)


def _error(response: httpx.Response) -> tuple[str, str]:
    """FCM's error code (from the FcmError detail, else the status) and its message."""
    try:
        error = orjson.loads(response.content).get("error") or {}
    except (orjson.JSONDecodeError, AttributeError):
        return "", response.text[:200]
    codes = [d.get("errorCode") for d in error.get("details") or [] if isinstance(d, dict)]
    code = next((c for c in codes if isinstance(c, str)), None) or str(error.get("status", ""))
    return code, str(error.get("message", ""))[:200]


def _name(response: httpx.Response) -> str:
    try:
        return str(orjson.loads(response.content).get("name", ""))[:200]
    except (orjson.JSONDecodeError, AttributeError):
        return ""
