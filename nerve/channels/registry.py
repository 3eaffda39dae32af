"""Every channel beside email, as configured: one `Delivery` per channel whose provider is set
up (NERVE_SMS_URL, VAPID keys, Slack destinations...). A flow step on a channel that is not
configured is dead-lettered saying what to set."""

from __future__ import annotations

from sqlalchemy import Engine

from nerve.channels.delivery import Delivery
from nerve.channels.push.channel import push_delivery
from nerve.channels.slack.channel import slack_delivery
from nerve.channels.sms.channel import sms_delivery
from nerve.outbound.policy import OutboundPolicy
from nerve.secrets.vault import Vault
from nerve.settings import Settings


def deliveries(
    engine: Engine, settings: Settings, vault: Vault, outbound: OutboundPolicy
) -> dict[str, Delivery]:
    """The configured channels by name (sms, push, slack)."""
    found: list[Delivery | None] = [
        slack_delivery(engine, settings, vault, outbound),
        sms_delivery(engine, settings, vault, outbound),
        push_delivery(engine, settings, vault, outbound),
    ]
    return {delivery.channel.name: delivery for delivery in found if delivery is not None}
