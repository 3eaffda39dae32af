"""Web Push to browsers: the message encrypted for the subscription's keys (RFC 8291,
`aes128gcm` content coding of RFC 8188, by pywebpush/http-ece), signed with the workspace's
VAPID key (RFC 8292) and POSTed to the push service (RFC 8030 §5) through the outbound policy.
"""

from __future__ import annotations

from typing import Any

import httpx

from nerve import numbers
from nerve.channels.push.providers import Answer, Options, Target, outcome_of
from nerve.channels.push.vapid import Signer
from nerve.outbound import http
from nerve.outbound.policy import OutboundPolicy, OutboundRefused

TIMEOUT_SECONDS = 10.0
# RFC 8291 §4: a push message carries at most 4096 octets; the aes128gcm header (86 octets
# with the sender's key), the padding delimiter and the 16-octet tag leave 3993 for the payload.
MAX_PAYLOAD_BYTES = 3993


def origin(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.netloc.decode('ascii')}"


def encrypt(target: Target, plaintext: bytes) -> bytes:
    """The aes128gcm body for the subscription's keys (a fresh sender key and salt each time);
    ValueError when the keys cannot be used."""
    # Imported at the first push: pywebpush loads requests and aiohttp with it (~0.8 s of
    # every process start otherwise, pushing or not).
    from pywebpush import WebPusher, WebPushException  # type: ignore[import-untyped]

    try:
        pusher = WebPusher({"endpoint": target.endpoint, "keys": dict(target.keys or {})})
        return bytes(pusher.encode(plaintext, content_encoding="aes128gcm")["body"])
    except WebPushException as exc:
        raise ValueError(str(exc)) from None


class WebPush:
    kind = "webpush"

    def __init__(self, client: httpx.Client, outbound: OutboundPolicy) -> None:
        self._client, self._outbound = client, outbound

    def send(
        self, target: Target, payload: dict[str, Any], options: Options, credentials: Any
    ) -> Answer:
        signer: Signer = credentials
        try:  # checked again: the policy may have changed since the browser subscribed
            url = http.check_url(self._outbound, target.endpoint)
        except OutboundRefused as exc:
            return Answer(target, "refused", None, "", f"refused by the outbound policy: {exc}")
        service = origin(url)
        try:
            body = encrypt(target, numbers.dumps(payload))
        except ValueError as exc:
            return Answer(target, "refused", None, service, f"cannot encrypt for it: {exc}")
        headers = {
            "TTL": str(options.ttl),  # RFC 8030 §5.2: required
            "Urgency": options.urgency,  # RFC 8030 §5.3
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "Authorization": signer.authorization(service),  # RFC 8292 §3: the aud is the origin
        }
        try:
            response = self._client.post(url, content=body, headers=headers,
                                         timeout=TIMEOUT_SECONDS)  # fmt: skip
        except OutboundRefused as exc:  # what the host resolves to now
            return Answer(
                target, "refused", None, service, f"refused by the outbound policy: {exc}"
            )
        except httpx.HTTPError as exc:
            return Answer(target, "retry", None, service, f"{type(exc).__name__}: {exc}")
        return Answer(target, outcome_of(response.status_code), response.status_code, service,
                      _note(response))  # fmt: skip


def _note(response: httpx.Response) -> str:
    status = response.status_code
    if status in (401, 403):
        return ("the push service refused the VAPID signature: the subscription was made with "
                "another key pair (was push.vapid_private_key replaced?)")  # fmt: skip
    if status == 413:
        return "the push service found the message too large"
    retry_after = response.headers.get("retry-after")
    if retry_after and (status == 429 or status >= 500):
        return f"retry after {retry_after[:40]}"
    return "" if status < 400 else response.text[:200]
