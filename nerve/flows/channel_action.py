"""The `send_sms`, `send_push` and `slack` actions: a flow step sends one message through a
channel's `Delivery` (nerve/channels/delivery.py).

    - id: text
      action: send_sms
      with: {template: cart_reminder_sms, topic: cart-alerts}      # marketing: needs consent
      # with: {template: tracking_number, transactional: true}

Each visit of the step sends at most once (the step's idempotency key keys the message log); a
skipped send (no number, no consent, opted out) completes the step with its reason; a provider
that is down is retried with the engine's backoff, then dead-lettered; over the fatigue cap or
in quiet hours the step waits (ActionDeferred) and is tried again when it may go.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from nerve.channels import slack, templates, timing
from nerve.channels.delivery import ChannelRequest, Delivery
from nerve.channels.push import action as push
from nerve.channels.sms import action as sms
from nerve.channels.smtp import SendDeferred
from nerve.consent import topics
from nerve.errors import NotFound
from nerve.flows import shop_events
from nerve.flows.calls import ActionCall, ActionDeferred, ActionFailed, ActionRejected
from nerve.outbound.policy import OutboundPolicy

Problems = list[dict[str, str]]


class Spec:
    """One channel action: its channel, the options its `with` takes, their checks."""

    def __init__(
        self, channel: str, parameters: tuple[str, ...],
        check: Callable[[dict[str, Any]], Problems], consent: bool,
        references: Callable[[Connection, str, dict[str, Any]], Problems] | None = None,
        refusal_dead_letters: bool = False,
    ) -> None:  # fmt: skip
        self.channel, self.parameters, self.check, self.consent = (
            channel, parameters, check, consent
        )  # fmt: skip
        # At publishing: what the node's own options name must exist (a Slack destination).
        self.references = references
        # A message the provider refused for good dead-letters its step, for someone to fix
        # and replay, when the fault is the shop's set-up (a revoked Slack URL), not the
        # customer's address (an SMS number that does not exist completes its step).
        self.refusal_dead_letters = refusal_dead_letters


# Action name → its channel. SMS and push to customers need consent to a topic when they are
# marketing; Slack goes to the shop's team.
ACTIONS: dict[str, Spec] = {
    "send_sms": Spec("sms", sms.PARAMETERS, sms.parameter_problems, consent=True),
    "send_push": Spec("push", push.PARAMETERS, push.parameter_problems, consent=True),
    "slack": Spec(
        "slack",
        slack.PARAMETERS,
        slack.parameter_problems,
        consent=False,
        references=slack.unknown_references,
        refusal_dead_letters=True,
    ),
}
COMMON = ("template", "topic", "transactional", *timing.OPTIONS)


class ChannelSender:
    def __init__(self, action: str, delivery: Delivery | None) -> None:
        self.action, self.delivery = action, delivery

    def __call__(self, call: ActionCall) -> dict[str, Any]:
        spec = ACTIONS[self.action]
        if self.delivery is None:
            raise ActionRejected(f"no {spec.channel} provider is configured (docs/channels.md)")
        params = call.params
        # A flow marked critical sends order and payment news: transactional, like a node
        # that says so — no opt-out or withdrawn topic holds it back.
        transactional = params.get("transactional") is True or call.critical or not spec.consent
        request = ChannelRequest(
            workspace_id=call.workspace_id, channel=spec.channel,
            # A shop's run (a catalog event started it) has no person to check or hold back.
            profile_id=None if call.profile_id == shop_events.SHOP else call.profile_id,
            idempotency_key=call.idempotency_key,
            kind="transactional" if transactional else "marketing", topic=params.get("topic"),
            template=params.get("template"), flow=call.flow,
            context={"event": call.trigger, "digest": call.digest},
            run_id=call.run_id, node=call.node,
            params=params, timing=timing.options_of(params),
        )  # fmt: skip
        try:
            sent = self.delivery.send(request)
        except timing.Deferred as exc:
            raise ActionDeferred(exc.until, exc.reason) from exc
        except SendDeferred as exc:
            raise ActionFailed(str(exc)) from exc
        except NotFound as exc:
            raise ActionRejected(exc.message) from exc
        if sent.status == "failed" and spec.refusal_dead_letters:
            raise ActionRejected(sent.reason or f"{spec.channel} refused the message")
        return {"status": sent.status, "message_id": sent.message_id, "reason": sent.reason}

    def close(self) -> None:
        if self.delivery is not None:
            self.delivery.close()


def parameter_problems(action: str) -> Callable[[dict[str, Any], OutboundPolicy], Problems]:
    spec = ACTIONS[action]

    def check(params: dict[str, Any], _outbound: OutboundPolicy) -> Problems:
        problems: Problems = []
        if not isinstance(params.get("template"), str) or not params["template"]:
            problems.append({"path": "template", "reason": "name the template to send"})
        if not isinstance(params.get("transactional", False), bool):
            problems.append({"path": "transactional", "reason": "true or false"})
        topic = params.get("topic")
        if spec.consent and topic is None and params.get("transactional") is not True:
            problems.append(
                {"path": "topic", "reason": f"a marketing {spec.channel} message names its "
                 "consent topic; order and account messages say transactional: true"}
            )  # fmt: skip
        elif topic is not None and not isinstance(topic, str):
            problems.append({"path": "topic", "reason": "a topic's name"})
        allowed = (*COMMON, *spec.parameters)
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            problems.append({"path": unknown[0], "reason": f"{action} takes "
                             f"{', '.join(allowed)}"})  # fmt: skip
        return problems + timing.option_problems(params) + spec.check(params)

    return check


def unknown_references(conn: Connection, workspace_id: str, nodes: list[Any]) -> Problems:
    """Problems for the channel nodes whose template does not exist (yet) or whose topic is
    not one of the workspace's on that channel."""
    problems = []
    for index, node in enumerate(nodes):
        spec = ACTIONS.get(node.action or "")
        if spec is None:
            continue
        template, topic = node.with_.get("template"), node.with_.get("topic")
        wrong = templates.reference_problem(conn, workspace_id, template, spec.channel) \
            if isinstance(template, str) else None  # fmt: skip
        if wrong is not None:
            problems.append({"path": f"nodes[{index}].with.template", "reason": wrong})
        if spec.consent and isinstance(topic, str):
            reason = topics.problem(conn, workspace_id, spec.channel, topic)
            if reason is not None:
                problems.append({"path": f"nodes[{index}].with.topic", "reason": reason})
        if spec.references is not None:
            found = spec.references(conn, workspace_id, node.with_)
            problems += [{**p, "path": f"nodes[{index}].with.{p['path']}"} for p in found]
    return problems
