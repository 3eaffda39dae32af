"""The SMS channel: a person's E.164 number, the template's text with its segments counted,
handed to the provider (nerve/channels/sms/provider.py) by the shared `Delivery`.

The account's token is the workspace's secret `sms.auth_token`, read when a message is
drafted (again after a few seconds): without it the step is dead-lettered before anything is
logged, and replays once it is set.
"""

from __future__ import annotations

from pathlib import Path
from time import monotonic
from typing import Any

import structlog
from sqlalchemy import Connection, Engine

from nerve.channels import context as event_context
from nerve.channels import templates
from nerve.channels.delivery import ChannelRequest, Delivery, Drafted, Outgoing
from nerve.channels.sms import numbers, segments
from nerve.channels.sms.provider import (
    Account,
    Provider,
    RecordingProvider,
    Refused,
    SmsMessage,
    TwilioProvider,
)
from nerve.channels.smtp import SendDeferred, SendRefused
from nerve.db.engine import write_transaction
from nerve.errors import NerveError, NotFound
from nerve.outbound.policy import OutboundPolicy
from nerve.profiles.schemas import Person
from nerve.secrets import service as secrets
from nerve.secrets.vault import Vault
from nerve.settings import Settings

log = structlog.get_logger(__name__)

AUTH_TOKEN = "sms.auth_token"
TOKEN_SECONDS = 5.0
RECORDING = "recording:"


class SmsChannel:
    name = "sms"
    address_type = "phone"
    needs_consent = True

    def __init__(
        self, engine: Engine, vault: Vault, provider: Provider, account: Account,
        *, shop: dict[str, Any] | None = None, max_segments: int = 4,
        needs_token: bool = True,
    ) -> None:  # fmt: skip
        self.engine, self.vault, self.provider = engine, vault, provider
        self.account, self.shop, self.max_segments = account, shop or {}, max_segments
        self.needs_token = needs_token
        # workspace → (when read, its auth token): read again after TOKEN_SECONDS, so a
        # rotated token applies within seconds without a query and a decryption per SMS.
        self._tokens: dict[str, tuple[float, str]] = {}

    def close(self) -> None:
        self.provider.close()

    def draft(self, conn: Connection, request: ChannelRequest, person: Person | None) -> Drafted:
        if request.template is None:
            raise NotFound("an SMS step names its template")
        version = templates.version(conn, request.workspace_id, request.template)
        if version.channel != "sms":
            raise NotFound(f"the template {request.template!r} is not an SMS template")
        self._read_token(conn, request.workspace_id)
        if person is None:  # an erased person's profile: the shared checks say so
            reason = None if request.profile_id else "no person to send to"
            return Drafted(None, reason=reason, template_version_id=version.id)
        number, missing = numbers.number_of(conn, request.workspace_id, person)
        # What the event carries and the caller gives — never the sample's made-up values.
        context = {"shop": self.shop, **event_context.of_event(request.context.get("event")),
                   **request.context, "person": templates.person_context(person)}  # fmt: skip
        body = str(templates.render(version.compiled, context, "sms").get("text") or "")
        counted = segments.count(body)
        limit = request.params.get("max_segments", self.max_segments)
        return Drafted(
            recipient=number, content={"body": body, "max_segments": limit},
            summary=" ".join(body.split())[:200] or None, reason=missing,
            details=counted.as_details(), template_version_id=version.id, address=number,
        )  # fmt: skip

    def deliver(self, message: Outgoing) -> dict[str, Any]:
        drafted = message.drafted
        assert drafted.recipient is not None
        body, limit = drafted.content["body"], drafted.content["max_segments"]
        counted = segments.count(body)
        if counted.count == 0:
            raise SendRefused("the message is empty once rendered")
        if counted.count > limit:
            raise SendRefused(
                f"the message is {counted.count} segments ({counted.encoding}, "
                f"{counted.characters} characters); at most {limit} may go "
                "(NERVE_SMS_MAX_SEGMENTS, or the step's max_segments): shorten the template"
            )
        account = self._account(message.workspace_id)
        sms = SmsMessage(drafted.recipient, body, message.message_id, message.idempotency_key)
        try:
            return self.provider.send(account, sms)
        except Refused as exc:
            if exc.suppress is not None:
                detail = f"provider error {exc.code}, {message.message_id}"
                with write_transaction(self.engine) as conn:
                    numbers.suppress(conn, message.workspace_id, drafted.recipient,
                                     exc.suppress, detail)  # fmt: skip
            raise

    def _read_token(self, conn: Connection, workspace_id: str) -> None:
        """The workspace's auth token, read again every few seconds; NotFound (a dead letter
        saying what to set) when there is none."""
        if not self.needs_token:
            return
        known = self._tokens.get(workspace_id)
        if known is not None and monotonic() - known[0] < TOKEN_SECONDS:
            return
        try:
            token = secrets.reveal(conn, self.vault, workspace_id, AUTH_TOKEN)
        except NerveError as exc:  # NERVE_SECRET_KEY unset or changed
            raise NotFound(f"the SMS auth token cannot be read: {exc.message}") from exc
        if token is None:
            raise NotFound(
                f"no SMS auth token: set the secret {AUTH_TOKEN} "
                f"(`nerve secrets set {AUTH_TOKEN}`), then replay the dead letters"
            )
        self._tokens[workspace_id] = (monotonic(), token)

    def _account(self, workspace_id: str) -> Account:
        if not self.needs_token:
            return self.account
        known = self._tokens.get(workspace_id)
        if known is None:  # drafted by another process: cannot happen in one Delivery
            raise SendDeferred("the SMS auth token was not read yet")
        return Account(self.account.sid, known[1], self.account.sender,
                       self.account.messaging_service_sid)  # fmt: skip


def provider_of(settings: Settings, outbound: OutboundPolicy) -> tuple[Provider, bool]:
    """The provider NERVE_SMS_URL names, and whether it needs the account's token."""
    url = settings.sms_url.strip()
    if url.startswith(RECORDING):
        path = url.removeprefix(RECORDING).removeprefix("//")
        return RecordingProvider(Path(path) if path else None), False
    return TwilioProvider(url, outbound, settings.sms_timeout_seconds), True


def sms_delivery(
    engine: Engine, settings: Settings, vault: Vault, outbound: OutboundPolicy
) -> Delivery | None:
    """SMS as configured (NERVE_SMS_*), or None when NERVE_SMS_URL is unset or incomplete."""
    if not settings.sms_url:
        return None
    provider, needs_token = provider_of(settings, outbound)
    sender = settings.sms_from or settings.sms_messaging_service_sid
    if needs_token and not (settings.sms_account_sid and sender):
        provider.close()
        log.warning("sms_not_configured", missing="NERVE_SMS_ACCOUNT_SID and NERVE_SMS_FROM "
                    "(or NERVE_SMS_MESSAGING_SERVICE_SID)")  # fmt: skip
        return None
    account = Account(settings.sms_account_sid, "", settings.sms_from,
                      settings.sms_messaging_service_sid)  # fmt: skip
    shop = {"name": settings.shop_name, "url": settings.shop_url, "imprint": settings.shop_imprint}
    channel = SmsChannel(
        engine,
        vault,
        provider,
        account,
        shop=shop,
        max_segments=settings.sms_max_segments,
        needs_token=needs_token,
    )
    return Delivery(engine, channel)
