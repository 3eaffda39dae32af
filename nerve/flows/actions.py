"""Actions a flow node can take, behind one stable interface, with a registry.

Remote actions (webhook; later email, SMS, push, Slack) run outside the database transaction
and must be idempotent at the receiver: they pass the step's idempotency key (run + node +
visit) on, and call only where the outbound policy (`nerve/outbound`) allows. Local actions
(update_profile, add_tag) run inside the transaction that completes the step. Staging runs use
a recording sender that delivers nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from nerve.channels.delivery import Delivery
from nerve.channels.email import EmailService
from nerve.flows import channel_action, email_action, webhook
from nerve.flows.calls import (
    ActionCall,
    ActionDeferred,
    ActionFailed,
    ActionRejected,
    RemoteAction,
)
from nerve.outbound.policy import OutboundPolicy
from nerve.profiles.service import set_traits
from nerve.webhooks.service import Endpoints

__all__ = ["ActionCall", "ActionDeferred", "ActionFailed", "ActionRejected", "RemoteAction"]


@dataclass
class RecordingSender:
    """Staging and tests: remembers what would have been sent."""

    sent: list[ActionCall] = field(default_factory=list)

    def __call__(self, call: ActionCall) -> dict[str, Any]:
        self.sent.append(call)
        return {"recorded": True}


REMOTE_ACTIONS = ("webhook", email_action.NAME, *channel_action.ACTIONS)


def remote_senders(
    outbound: OutboundPolicy | None = None,
    email: EmailService | None = None,
    endpoints: Endpoints | None = None,
    channels: dict[str, Delivery] | None = None,
) -> dict[str, RemoteAction]:
    """The real senders of remote actions, one per action name, calling only where `outbound`
    allows (by default: public addresses), webhooks to `endpoints` signed, SMS, push and Slack
    through `channels` (by channel name); close them with `close`."""
    channels = channels or {}
    senders: dict[str, RemoteAction] = {
        "webhook": webhook.WebhookSender(outbound, endpoints),
        email_action.NAME: email_action.EmailSender(email),
    }
    for action, spec in channel_action.ACTIONS.items():
        senders[action] = channel_action.ChannelSender(action, channels.get(spec.channel))
    return senders


def close(senders: dict[str, RemoteAction]) -> None:
    for sender in senders.values():
        closer = getattr(sender, "close", None)
        if closer is not None:
            closer()


Problem = dict[str, str]
# Checks of a node's `with` when a flow is validated, by action; paths are under `with`.
PARAMETER_CHECKS: dict[str, Callable[[dict[str, Any], OutboundPolicy], list[Problem]]] = {
    "webhook": webhook.parameter_problems,
    email_action.NAME: email_action.parameter_problems,
    **{action: channel_action.parameter_problems(action) for action in channel_action.ACTIONS},
}


def parameter_problems(
    action: str, params: dict[str, Any], outbound: OutboundPolicy
) -> list[Problem]:
    check = PARAMETER_CHECKS.get(action)
    return [] if check is None else check(params, outbound)


def person_fields(action: str, params: dict[str, Any]) -> webhook.PersonFields | None:
    """What of the person a remote action sends, read when its step is prepared; None for
    nothing (ActionRejected for an option that cannot be read)."""
    return webhook.person_fields(params) if action == "webhook" else None


def update_profile(conn: Connection, call: ActionCall, now: Any) -> dict[str, Any]:
    values = call.params.get("traits")
    if not isinstance(values, dict) or not values:
        raise ActionRejected("update_profile needs `traits`: {name: value}")
    set_traits(conn, call.workspace_id, call.profile_id, values, now)
    return {"traits": sorted(values)}


def add_tag(conn: Connection, call: ActionCall, now: Any) -> dict[str, Any]:
    tag = call.params.get("tag")
    if not isinstance(tag, str) or not tag:
        raise ActionRejected("add_tag needs `tag`")
    set_traits(conn, call.workspace_id, call.profile_id, {f"tag:{tag[:200]}": True}, now)
    return {"tag": tag}


LocalAction = Callable[[Connection, ActionCall, Any], dict[str, Any]]
LOCAL: dict[str, LocalAction] = {"update_profile": update_profile, "add_tag": add_tag}


def known(name: str) -> bool:
    return name in REMOTE_ACTIONS or name in LOCAL


def names() -> list[str]:
    """Every action a node can take, for messages that list them."""
    return sorted({*REMOTE_ACTIONS, *LOCAL})
