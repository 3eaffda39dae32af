"""The `send_email` action: a flow step sends one email through channels' EmailService.

    - id: remind
      action: send_email
      with: {template: cart_reminder_1, topic: newsletter}      # marketing
      # with: {template: order_confirmation, transactional: true}

Each visit of the step sends at most once (the step's idempotency key keys the message log); a
skipped send (no address, suppressed, erased) completes the step with its reason, a hard bounce
too (the address is suppressed); an SMTP server that is down or answers 4xx is retried with the
engine's backoff, then dead-lettered.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from nerve.channels import templates, timing
from nerve.channels.email import EmailRequest, EmailService
from nerve.channels.smtp import SendDeferred
from nerve.consent import topics
from nerve.errors import NotFound
from nerve.flows.calls import ActionCall, ActionDeferred, ActionFailed, ActionRejected
from nerve.outbound.policy import OutboundPolicy

NAME = "send_email"


class EmailSender:
    def __init__(self, service: EmailService | None) -> None:
        self.service = service

    def __call__(self, call: ActionCall) -> dict[str, Any]:
        if self.service is None:
            raise ActionRejected("no email transport: set NERVE_SMTP_URL and NERVE_EMAIL_FROM")
        params = call.params
        request = EmailRequest(
            workspace_id=call.workspace_id, profile_id=call.profile_id,
            template=str(params.get("template")), idempotency_key=call.idempotency_key,
            kind="transactional" if params.get("transactional") is True or call.critical
            else "marketing",
            topic=params.get("topic"), flow=call.flow,
            context={"event": call.trigger, "digest": call.digest},
            run_id=call.run_id, node=call.node, timing=timing.options_of(params),
        )  # fmt: skip
        try:
            sent = self.service.send(request)
        except timing.Deferred as exc:
            raise ActionDeferred(exc.until, exc.reason) from exc
        except SendDeferred as exc:
            raise ActionFailed(str(exc)) from exc
        except NotFound as exc:
            raise ActionRejected(exc.message) from exc
        return {"status": sent.status, "message_id": sent.message_id, "reason": sent.reason}

    def close(self) -> None:
        if self.service is not None:
            self.service.transport.close()


def parameter_problems(params: dict[str, Any], _outbound: OutboundPolicy) -> list[dict[str, str]]:
    problems = []
    if not isinstance(params.get("template"), str) or not params["template"]:
        problems.append({"path": "template", "reason": "name the template to send"})
    topic = params.get("topic")
    transactional = params.get("transactional", False)
    if not isinstance(transactional, bool):
        problems.append({"path": "transactional", "reason": "true or false"})
    elif topic is None and not transactional:
        problems.append(
            {"path": "topic", "reason": "a marketing email names its consent topic (topic: "
             "newsletter); order and account mails say transactional: true"}
        )  # fmt: skip
    elif topic is not None and not isinstance(topic, str):
        problems.append({"path": "topic", "reason": "a topic's name"})
    allowed = ("template", "topic", "transactional", *timing.OPTIONS)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        problems.append({"path": unknown[0], "reason": f"send_email takes {', '.join(allowed)}"})
    return problems + timing.option_problems(params)


def unknown_references(
    conn: Connection, workspace_id: str, nodes: list[Any]
) -> list[dict[str, str]]:
    """Problems for the send_email nodes whose template does not exist (yet) or whose topic
    is not one of the workspace's."""
    problems = []
    for index, node in enumerate(nodes):
        if node.action != NAME:
            continue
        template, topic = node.with_.get("template"), node.with_.get("topic")
        wrong = templates.reference_problem(conn, workspace_id, template, "email") \
            if isinstance(template, str) else None  # fmt: skip
        if wrong is not None:
            problems.append({"path": f"nodes[{index}].with.template", "reason": wrong})
        reason = topics.problem(conn, workspace_id, "email", topic) if isinstance(topic, str) \
            else None  # fmt: skip
        if reason is not None:
            problems.append({"path": f"nodes[{index}].with.topic", "reason": reason})
    return problems
