"""The push channel: one message to every subscription the person has now (browsers through Web
Push, apps through FCM), handed to their push services by the shared `Delivery`.

A send is one message log row whatever the number of devices; its details list each
subscription reached with its push service's answer. A subscription the service calls gone
(404/410, FCM's UNREGISTERED) is removed. When some services answer 429 or 5xx, the devices
already reached are noted in the row and the retry goes to the others only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Connection, Engine, select, update

from nerve import metrics, numbers
from nerve.channels import context as event_context
from nerve.channels import templates
from nerve.channels.delivery import ChannelRequest, Delivery, Drafted, Outgoing
from nerve.channels.models import Message
from nerve.channels.push import fcm, service, vapid
from nerve.channels.push.providers import URGENCIES, Answer, Options, Provider, Target
from nerve.channels.push.webpush import MAX_PAYLOAD_BYTES, WebPush
from nerve.channels.smtp import SendDeferred, SendRefused
from nerve.consent import service as consent
from nerve.db.base import utcnow
from nerve.db.engine import write_transaction
from nerve.errors import NerveError, NotFound
from nerve.outbound import http
from nerve.outbound.policy import OutboundPolicy
from nerve.profiles.schemas import Person
from nerve.secrets import service as secrets
from nerve.secrets.vault import Vault
from nerve.settings import Settings

NO_SUBSCRIPTION = "no push subscription"


@dataclass(frozen=True)
class PushConfig:
    subject: str  # the VAPID `sub`: mailto: or https: contact of the shop
    fcm_url: str = "https://fcm.googleapis.com"
    fcm_project: str = ""
    shop: dict[str, Any] | None = None

    @classmethod
    def of(cls, settings: Settings) -> PushConfig:
        sender = settings.email_from.rpartition("<")[2].rstrip(">").strip()
        subject = settings.push_vapid_subject or (f"mailto:{sender}" if "@" in sender else "")
        shop = {"name": settings.shop_name, "url": settings.shop_url,
                "imprint": settings.shop_imprint}  # fmt: skip
        return cls(subject, settings.push_fcm_url, settings.push_fcm_project, shop)


class PushChannel:
    name = "push"
    # Push has no single address: consent and erasure go by the identifiers its
    # subscriptions were registered under (nerve/channels/push/service.py).
    address_type = "push"
    needs_consent = True

    def __init__(
        self, engine: Engine, vault: Vault, outbound: OutboundPolicy, config: PushConfig,
        *, verify: Any = True,
    ) -> None:  # fmt: skip
        self.engine, self.vault, self.config = engine, vault, config
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)
        self._client = http.client(outbound, limits=limits, verify=verify)
        self.providers: dict[str, Provider] = {
            "webpush": WebPush(self._client, outbound),
            "fcm": fcm.Fcm(self._client, outbound, config.fcm_url),
        }
        self._signers = vapid.Signers(config.subject)

    def close(self) -> None:
        self._client.close()

    def draft(self, conn: Connection, request: ChannelRequest, person: Person | None) -> Drafted:
        if request.template is None:
            raise NotFound("a push step names its template")
        version = templates.version(conn, request.workspace_id, request.template)
        if version.channel != "push":
            raise NotFound(f"the template {request.template!r} is not a push template")
        if person is None:  # an erased person's profile: the shared checks say so
            reason = None if request.profile_id else "no person to push to"
            return Drafted(None, reason=reason, template_version_id=version.id)
        identifiers = [(i.type, i.value) for i in person.identifiers]
        found = service.of_person(conn, request.workspace_id, identifiers)
        targets, reason = self._agreed(conn, request, found)
        earlier = _earlier(conn, request.workspace_id, request.idempotency_key)
        done = {line["subscription"] for line in earlier}
        targets = [t for t in targets if t.id not in done]
        # What the event carries and the caller gives — never the sample's made-up values.
        context = {"shop": self.config.shop or {}, **event_context.of_event(
            request.context.get("event")), **request.context,
            "person": templates.person_context(person)}  # fmt: skip
        rendered = templates.render(version.compiled, context, "push")
        payload = {part: text for part, text in rendered.items() if text}
        size = len(numbers.dumps({**payload, "message_id": "push-" + "0" * 32}))
        if reason is None and size > MAX_PAYLOAD_BYTES:
            reason = f"the push is {size} bytes once rendered; at most {MAX_PAYLOAD_BYTES} go"
        credentials = self._credentials(conn, request.workspace_id, targets) if not reason \
            else {}  # fmt: skip
        owners = sorted({t.identifier for t in found})
        return Drafted(
            recipient=", ".join(owners)[:320] or None,
            content={"payload": payload, "targets": targets, "credentials": credentials,
                     "options": _options(request.params), "earlier": earlier},
            summary=payload.get("title"), reason=reason,
            details={"endpoints": earlier} if earlier else {}, template_version_id=version.id,
        )  # fmt: skip

    def _agreed(
        self, conn: Connection, request: ChannelRequest, found: list[Target]
    ) -> tuple[list[Target], str | None]:
        """The subscriptions this send may go to, or why it goes nowhere: a marketing push
        only where the owner agreed to its topic."""
        if not found:
            return [], NO_SUBSCRIPTION
        if request.kind != "marketing":
            return found, None
        topic = request.topic or ""
        owners = sorted({t.identifier for t in found})
        agreed = consent.statuses(conn, request.workspace_id, "push", owners)
        targets = [t for t in found if agreed.get((t.identifier, topic)) == "subscribed"]
        if targets:
            return targets, None
        said = sorted({agreed.get((owner, topic)) or "never given" for owner in owners})
        return [], f"no consent to push {topic} ({', '.join(said)})"

    def _credentials(
        self, conn: Connection, workspace_id: str, targets: list[Target]
    ) -> dict[str, Any]:
        """What each kind of target needs, read now (a replaced key applies at once);
        NotFound — a dead letter saying what to set — when one is missing."""
        kinds = {t.kind for t in targets}
        found: dict[str, Any] = {}
        if "webpush" in kinds:
            if not vapid.valid_subject(self.config.subject):
                raise NotFound(f"the VAPID subject {self.config.subject!r} is no contact: set "
                               "NERVE_PUSH_VAPID_SUBJECT (mailto: of the shop, or an https: "
                               "URL) or NERVE_EMAIL_FROM")  # fmt: skip
            key = _secret(conn, self.vault, workspace_id, vapid.SECRET)
            if key is None:
                raise NotFound(f"{vapid.NO_KEY}, then replay the dead letters")
            found["webpush"] = self._signers.of(workspace_id, key)
        if "fcm" in kinds:
            token = _secret(conn, self.vault, workspace_id, fcm.SECRET)
            if token is None or not self.config.fcm_project:
                raise NotFound(f"FCM needs NERVE_PUSH_FCM_PROJECT and the secret {fcm.SECRET} "
                               "(docs/channels.md), then replay the dead letters")  # fmt: skip
            found["fcm"] = fcm.Credentials(self.config.fcm_project, token)
        return found

    def deliver(self, message: Outgoing) -> dict[str, Any]:
        content = message.drafted.content
        payload = {**content["payload"], "message_id": message.message_id}
        answers = [
            self.providers[t.kind].send(t, payload, content["options"],
                                        content["credentials"][t.kind])
            for t in content["targets"]
        ]  # fmt: skip
        for answer in answers:
            metrics.PUSH_ANSWERS.labels(answer.target.kind, answer.outcome).inc()
        lines = [*content["earlier"], *(a.detail() for a in answers)]
        removed = [a.target.id for a in answers if a.outcome == "gone"]
        reached = [a.target.id for a in answers if a.outcome == "delivered"]
        gone = sum(1 for line in lines if line["outcome"] == "gone")
        details = {"endpoints": lines, "removed": gone} if gone else {"endpoints": lines}
        retry = [a for a in answers if a.outcome == "retry"]
        delivered = any(line["outcome"] == "delivered" for line in lines)
        unfinished = bool(retry) or not delivered
        self._settle(message, removed, reached, details if unfinished else None)
        if retry:
            raise SendDeferred(_summary(retry))
        if not delivered:
            raise SendRefused(_summary(answers) or "no subscription left to push to")
        return details

    def _settle(
        self, message: Outgoing, removed: list[str], reached: list[str],
        details: dict[str, Any] | None,
    ) -> None:  # fmt: skip
        """Gone subscriptions removed, reached ones stamped, and — when the send is not over
        — what it came to so far kept in its row, for the retry to skip who has it."""
        with write_transaction(self.engine) as conn:
            service.settle(conn, message.workspace_id, removed, reached, utcnow())
            if details is not None:
                conn.execute(update(Message).where(Message.id == message.row_id)
                             .values(details=details))  # fmt: skip


def _earlier(conn: Connection, workspace_id: str, idempotency_key: str) -> list[dict[str, Any]]:
    """The subscriptions an earlier attempt of this send finished with (reached, gone,
    refused): a retry leaves them out."""
    details = conn.scalar(
        select(Message.details).where(Message.workspace_id == workspace_id,
                                      Message.idempotency_key == idempotency_key)
    )  # fmt: skip
    lines = (details or {}).get("endpoints") if isinstance(details, dict) else None
    return [line for line in lines or [] if line.get("outcome") != "retry"]


def _options(params: dict[str, Any]) -> Options:
    ttl, urgency = params.get("ttl"), params.get("urgency")
    return Options(
        ttl=ttl if isinstance(ttl, int) and not isinstance(ttl, bool) else Options.ttl,
        urgency=urgency if urgency in URGENCIES else Options.urgency,
    )


def _secret(conn: Connection, vault: Vault, workspace_id: str, name: str) -> str | None:
    try:
        return secrets.reveal(conn, vault, workspace_id, name)
    except NerveError as exc:  # NERVE_SECRET_KEY unset or changed
        raise NotFound(f"the secret {name} cannot be read: {exc.message}") from exc


def _summary(answers: list[Answer]) -> str:
    return "; ".join(
        f"{a.service or a.target.kind} answered {a.status or 'nothing'}"
        + (f" ({a.note})" if a.note else "")
        for a in answers
    )[:900]


def push_delivery(
    engine: Engine, settings: Settings, vault: Vault, outbound: OutboundPolicy
) -> Delivery:
    """Push is always there: a workspace without a VAPID key or FCM set up learns so from the
    dead letter of its first push to a subscribed person; a person without subscriptions is
    skipped whatever is set up."""
    return Delivery(engine, PushChannel(engine, vault, outbound, PushConfig.of(settings)))
