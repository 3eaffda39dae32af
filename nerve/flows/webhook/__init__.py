"""The `webhook` action: POST the step as JSON — the flow, the run, the trigger, the node's
`body` and the person as Nerve sees them, or the shop's own mapping of them (the body and
headers are Liquid templates) — to a webhook endpoint the node names (signed per Standard
Webhooks, nerve/webhooks) or to the node's URL (unsigned), under the outbound policy; each
attempt in the message log. docs/webhooks.md describes the request field by field.
"""

from __future__ import annotations

from nerve.flows.webhook.parameters import (
    DEFAULT_IDENTIFIERS,
    PersonFields,
    WebhookParameters,
    parameter_problems,
    person_fields,
    unknown_references,
)
from nerve.flows.webhook.sender import WebhookSender, request_body

__all__ = [
    "DEFAULT_IDENTIFIERS",
    "PersonFields",
    "WebhookParameters",
    "WebhookSender",
    "parameter_problems",
    "person_fields",
    "request_body",
    "unknown_references",
]
