"""Request and response shapes of `/api/v1/webhook-endpoints`: a signing secret appears only in
the answers that made it (`CreatedWebhookEndpoint`, `RotatedWebhookSecret`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from nerve.webhooks.service import DEFAULT_GRACE, MAX_GRACE, MAX_URL, NAME

_SECRET = (
    "The signing secret (Standard Webhooks, `whsec_` and base64): give it to the receiver. "
    "Shown only this once."
)


class NewWebhookEndpoint(BaseModel):
    name: str = Field(
        pattern=f"^{NAME.pattern}$",
        description="What flows call it by (`with: {endpoint: crm}`)",
        examples=["crm"],
    )
    url: str = Field(
        min_length=1,
        max_length=MAX_URL,
        description="http or https, to an address the outbound policy allows (docs/webhooks.md)",
        examples=["https://crm.shop.example/nerve"],
    )


class SecretRotation(BaseModel):
    grace_seconds: int = Field(
        default=int(DEFAULT_GRACE.total_seconds()),
        ge=0,
        le=int(MAX_GRACE.total_seconds()),
        description="How long the secret being replaced still signs, beside the new one "
        "(default a day); 0 ends it at once, as after a leak",
    )


class EndpointDisabling(BaseModel):
    reason: str = Field(
        default="disabled by hand", min_length=1, max_length=1000,
        description="Shown with the endpoint and in the dead letters of the steps refused",
    )  # fmt: skip


class WebhookEndpointInfo(BaseModel):
    name: str
    url: str
    status: Literal["enabled", "disabled"] = Field(
        description="disabled: steps to it are dead-lettered at once, nothing is sent"
    )
    disabled_reason: str | None = Field(description="Why it is disabled (a 410 Gone, by hand)")
    disabled_at: datetime | None
    secret_created_at: datetime = Field(description="When the current signing secret was made")
    previous_secret_expires_at: datetime | None = Field(
        description="Until then the secret replaced by the last rotation signs too; null when "
        "only the current one signs"
    )
    created_at: datetime


class WebhookEndpointList(BaseModel):
    data: list[WebhookEndpointInfo]


class CreatedWebhookEndpoint(WebhookEndpointInfo):
    secret: str = Field(description=_SECRET)


class RotatedWebhookSecret(WebhookEndpointInfo):
    secret: str = Field(description=_SECRET)
