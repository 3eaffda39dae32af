"""What the demo workspace needs for SMS, push and Slack, set up as a shop's admin would: the
consent topics of the marketing SMS and push, the providers' credentials as secrets, the team's
Slack channel as a destination, and the delivery policy every marketing message is held to.

Each is written only when it is missing or differs, so a rerun adds nothing to the audit log;
secrets stored under another NERVE_SECRET_KEY (one that cannot read them) are stored anew.
"""

from __future__ import annotations

import secrets as random_tokens
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from nerve.channels.push.fcm import SECRET as FCM_TOKEN
from nerve.channels.slack import destinations
from nerve.channels.sms.channel import AUTH_TOKEN as SMS_TOKEN
from nerve.channels.timing import policy
from nerve.consent import topics
from nerve.db.engine import write_transaction
from nerve.demo.channel_flows import ChannelFlows, publish_channel_flows, save_channel_templates
from nerve.demo.phones import PhoneNetwork
from nerve.demo.shopping import APP_OFFERS, CART_ALERTS
from nerve.demo.team_alerts import TeamChannel
from nerve.errors import DemoError, NotFound, Unavailable
from nerve.outbound.policy import OutboundPolicy
from nerve.secrets import service as secrets
from nerve.secrets.vault import Vault

ACTOR = "nerve demo"
TEAM_ALERTS = "team-alerts"
TOPICS = (
    topics.Topic("sms", CART_ALERTS, "Cart reminders by SMS",
                 "A text when you leave something in your cart"),
    topics.Topic("push", APP_OFFERS, "Offers in the app", "The app's offers, as notifications"),
)  # fmt: skip
# Marketing messages per customer in any window: the policy a real shop would set at 3 in 7 days,
# squeezed into the demo's minutes (the window divided by the demo's speed, a minute at least).
CAP_LIMIT = 2
CAP_WINDOW_SECONDS = 15 * 60


@dataclass(frozen=True)
class DemoChannels:
    """What the welcome says about the channels beside mail."""

    flows: ChannelFlows
    policy: policy.DeliveryPolicy
    phones_url: str  # the demo's stand-in for the SMS provider and FCM
    slack_hint: str  # the team channel's webhook, its path (the token) hidden


@dataclass(frozen=True)
class ProviderTokens:
    sms: str  # the SMS account's auth token
    fcm: str  # the FCM access token


def prepare_channels(
    engine: Engine, vault: Vault, outbound: OutboundPolicy, workspace_id: str, speed: float,
    network: PhoneNetwork, team: TeamChannel,
) -> DemoChannels:  # fmt: skip
    """Everything the flows on SMS, push and Slack need, then the flows, then the policy."""
    define_channel_topics(engine, workspace_id)
    save_channel_templates(engine, workspace_id)
    tokens = provider_tokens(engine, vault, workspace_id)
    network.credentials(tokens.sms, tokens.fcm)
    url = team.url()
    slack_destination(engine, vault, outbound, workspace_id, url)
    flows = publish_channel_flows(engine, workspace_id, speed, outbound)
    kept = delivery_policy(engine, workspace_id, speed)
    return DemoChannels(flows, kept, network.url, destinations.hint(url))


def define_channel_topics(engine: Engine, workspace_id: str) -> None:
    """The SMS and push topics, as `PUT /api/v1/consent/topics/{channel}/{name}` defines them."""
    with write_transaction(engine) as conn:
        for topic in TOPICS:
            if topic not in topics.listed(conn, workspace_id, topic.channel):
                topics.put(conn, workspace_id, topic, actor=ACTOR)


def provider_tokens(engine: Engine, vault: Vault, workspace_id: str) -> ProviderTokens:
    """The tokens the demo's phone network expects, kept as Nerve's secrets (`nerve secrets set
    sms.auth_token`): made up on the first run, read on the next."""
    with write_transaction(engine) as conn:
        return ProviderTokens(
            sms=_kept(conn, vault, workspace_id, SMS_TOKEN),
            fcm=_kept(conn, vault, workspace_id, FCM_TOKEN),
        )


def _kept(conn: Connection, vault: Vault, workspace_id: str, name: str) -> str:
    try:
        known = secrets.reveal(conn, vault, workspace_id, name)
    except Unavailable:  # stored under another key: this run's replaces it
        known = None
    if known is not None:
        return known
    token = random_tokens.token_urlsafe(32)
    _store(conn, vault, workspace_id, name, token)
    return token


def slack_destination(
    engine: Engine, vault: Vault, outbound: OutboundPolicy, workspace_id: str, url: str
) -> None:
    """The team's channel, at the demo's Slack-shaped sink (`nerve slack add team-alerts`)."""
    with write_transaction(engine) as conn:
        try:
            known = destinations.url_of(conn, vault, workspace_id, TEAM_ALERTS)
        except NotFound:  # none yet, or unreadable under this key: stored anew
            known = None
        if known != url:
            try:
                destinations.put(conn, vault, outbound, workspace_id, TEAM_ALERTS, url,
                                 actor=ACTOR)  # fmt: skip
            except Unavailable as exc:
                raise DemoError(f"cannot keep the demo's Slack destination: {exc.message}") \
                    from None  # fmt: skip


def delivery_policy(engine: Engine, workspace_id: str, speed: float) -> policy.DeliveryPolicy:
    """At most CAP_LIMIT marketing messages per customer in the window, across every flow and
    channel; the one over it waits for a free slot. No quiet hours: the demo runs at any hour."""
    wanted = policy.DeliveryPolicy(
        fatigue=policy.Fatigue(limit=CAP_LIMIT, window=cap_window(speed), on_cap="defer"),
        quiet_hours=None,
    )
    with write_transaction(engine) as conn:
        if policy.load(conn, workspace_id, fresh=True) != wanted:
            policy.save(conn, workspace_id, wanted, actor=ACTOR)
    return wanted


def cap_window(speed: float) -> str:
    """CAP_WINDOW_SECONDS divided by the speed, in whole seconds: at least the policy's least
    window, a minute."""
    seconds = max(60, round(CAP_WINDOW_SECONDS / speed))
    minutes, rest = divmod(seconds, 60)
    return f"{minutes}m" if not rest else f"{seconds}s"


def _store(conn: Connection, vault: Vault, workspace_id: str, name: str, value: str) -> None:
    try:
        secrets.put(conn, vault, workspace_id, name, value, actor=ACTOR)
    except Unavailable as exc:  # a NERVE_SECRET_KEY that is no Fernet key
        raise DemoError(f"cannot keep the demo's secret {name}: {exc.message}") from None
