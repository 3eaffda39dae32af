"""The `webhook` destination: each batch POSTed as JSON to a webhook endpoint (its URL and
signing secrets, nerve/webhooks), signed per Standard Webhooks, under the outbound policy:

    {"audience": "meta_running_fans", "audience_id": "aud_…", "segment": "running_fans",
     "action": "add", "members": [{"email_sha256": "…", "phone_sha256": "…",
                                   "phone_e164_sha256": "…", "external_id": null}]}

2xx: taken. 408, 425, 429, 5xx, a timeout or no connection: the same batch again later (the
same `webhook-id`, so the receiver drops a repeat). Any other answer: refused, dead-lettered.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from nerve import numbers
from nerve.audiences.destinations import Batch, DestinationContext, Refused, TryAgain
from nerve.outbound import http
from nerve.outbound.policy import OutboundRefused
from nerve.webhooks import service as webhook_endpoints
from nerve.webhooks import signing

TIMEOUT_SECONDS = 30.0
_KEEP_ANSWER = 200


@dataclass(frozen=True)
class WebhookDestination:
    workspace_id: str
    endpoint: str
    context: DestinationContext

    @classmethod
    def of(
        cls, workspace_id: str, config: dict[str, Any], context: DestinationContext
    ) -> WebhookDestination:
        endpoint = config.get("endpoint")
        if not isinstance(endpoint, str):
            raise Refused("a webhook audience names a webhook endpoint (config.endpoint)")
        return cls(workspace_id, endpoint, context)

    def add(self, batch: Batch) -> None:
        self._post("add", batch)

    def remove(self, batch: Batch) -> None:
        self._post("remove", batch)

    def _post(self, action: str, batch: Batch) -> None:
        endpoints = webhook_endpoints.Endpoints(self.context.engine, self.context.vault)
        try:
            target = endpoints.target(self.workspace_id, self.endpoint)
        except webhook_endpoints.Unusable as exc:  # disabled, deleted: wait for it, lose nothing
            raise TryAgain(str(exc)) from None
        try:
            url = http.check_url(self.context.outbound, target.url)
        except OutboundRefused as exc:
            raise TryAgain(f"webhook endpoint {self.endpoint!r} refused: {exc}") from None
        content = numbers.dumps({
            "audience": batch.audience, "audience_id": batch.audience_id,
            "segment": batch.segment, "action": action, "members": batch.members,
        })  # fmt: skip
        message_id = f"{batch.idempotency_key}:{action}"
        timestamp = str(int(time.time()))
        headers = {
            "content-type": "application/json",
            # Standard Webhooks: the same id on every attempt lets the receiver deduplicate.
            "webhook-id": message_id,
            "webhook-timestamp": timestamp,
            "idempotency-key": message_id,
        }
        try:
            headers["webhook-signature"] = signing.signature(
                target.secrets, message_id, timestamp, content
            )
        except signing.InvalidSecret as exc:
            raise TryAgain(f"webhook endpoint {self.endpoint!r}: {exc}") from None
        status, answer = self._send(url, content, headers)
        if status == 410:
            reason = f"the receiver answered 410 Gone (audience {batch.audience})"
            endpoints.gone(self.workspace_id, self.endpoint, reason)
            raise TryAgain(f"receiver answered 410 Gone: the endpoint {self.endpoint!r} is "
                           "disabled; the audience waits until it is enabled again")  # fmt: skip
        if status in (408, 425, 429) or status >= 500:
            raise TryAgain(f"receiver answered {status}")
        if status >= 300:
            raise Refused(f"receiver refused with {status}: {answer}")

    def _send(self, url: httpx.URL, content: bytes, headers: dict[str, str]) -> tuple[int, str]:
        try:
            response = self.context.client.post(url, content=content, headers=headers,
                                        timeout=TIMEOUT_SECONDS)  # fmt: skip
        except OutboundRefused as exc:  # what the host resolves to now
            raise TryAgain(f"refused by the outbound policy: {exc}") from None
        except httpx.HTTPError as exc:
            raise TryAgain(f"{type(exc).__name__}: {exc}") from exc
        return response.status_code, response.text[:_KEEP_ANSWER]
