"""Request and response shapes of `/api/v1/templates`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class SavedTemplate(BaseModel):
    name: str
    version: int
    version_id: str
    created_at: datetime
    unchanged: bool = Field(description="True when the template equals its latest version")


Channel = Literal["email", "sms", "push", "slack"]


class TemplateSummary(BaseModel):
    id: str
    name: str
    channel: Channel
    version: int = Field(description="The latest version")
    created_at: datetime


class TemplateList(BaseModel):
    data: list[TemplateSummary]


class TemplateParts(BaseModel):
    """A mail's parts."""

    model_config = ConfigDict(extra="forbid")

    subject: str
    preheader: str
    html: str
    text: str


class ChannelParts(BaseModel):
    """An SMS's text, a push's title, body and links, a Slack message's text and blocks."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = None
    title: str | None = None
    body: str | None = None
    url: str | None = None
    icon: str | None = None
    image: str | None = None
    blocks: list[dict[str, Any]] | None = None


class VersionSummary(BaseModel):
    version: int
    id: str
    created_by: str = Field(description="The key (or `operator`) that saved it")
    created_at: datetime


class TemplateDetail(BaseModel):
    name: str
    version: int
    version_id: str
    created_at: datetime
    channel: Channel
    source: dict[str, Any] = Field(description="The template as it was saved")
    compiled: TemplateParts | ChannelParts = Field(
        description="What sends render: for a mail, CSS inlined and text derived"
    )
    versions: list[VersionSummary]


class PreviewRequest(BaseModel):
    version: int | None = Field(default=None, description="The latest when not given")
    profile_id: str | None = Field(
        default=None, description="Render for this person; the built-in sample person if not given"
    )
    context: dict[str, Any] = Field(
        default_factory=dict,
        description="Replaces parts of the sample (event, cart, order, products, shop)",
    )


class SendTest(BaseModel):
    to: str = Field(max_length=320, description="The address to send the test to")
    version: int | None = Field(default=None, description="The latest when not given")
    profile_id: str | None = Field(
        default=None, description="Render for this person; the sample person when not given"
    )
    context: dict[str, Any] = Field(
        default_factory=dict,
        description="Replaces parts of the sample (event, cart, order, products, shop)",
    )


class Preview(ChannelParts):
    """A version rendered: a mail's subject, preheader, HTML and text, or the other channels'
    parts (text, title, body, url, icon, image, blocks) — those the template has."""

    version: int
    channel: Channel
    subject: str | None = None
    preheader: str | None = None
    html: str | None = None


class Recipient(BaseModel):
    """Exactly one of them."""

    profile_id: str | None = None
    identifier: str | None = Field(default=None, description="TYPE:VALUE, such as user_id:u-7")
    email: str | None = Field(
        default=None, max_length=320, description="An address Nerve may not know yet"
    )


class Content(BaseModel):
    """A message written in the request (Liquid, checked like a template) instead of a saved
    template."""

    subject: str = Field(min_length=1, max_length=1000)
    preheader: str = Field(default="", max_length=1000)
    html: str = Field(min_length=1, max_length=512 * 1024)
    text: str | None = Field(default=None, max_length=256 * 1024)


class NewMessage(BaseModel):
    to: Recipient
    template: str | None = Field(default=None, description="A saved template's name")
    content: Content | None = None
    context: dict[str, Any] = Field(
        default_factory=dict, description="What the template sees beside the person: order, ..."
    )
    topic: str | None = Field(
        default=None, description="Marketing: the consent topic. Without it, transactional"
    )


class MessageResult(BaseModel):
    id: str = Field(description="The message log row")
    message_id: str = Field(description="The RFC 5322 Message-ID")
    status: Literal["sent", "skipped", "bounced"]
    reason: str | None


class LoggedMessage(BaseModel):
    id: str
    profile_id: str | None
    channel: str
    kind: Literal["marketing", "transactional"]
    topic: str | None
    template: str | None
    flow: str | None
    run_id: str | None
    node: str | None
    message_id: str
    recipient: str | None
    subject: str | None
    status: str = Field(
        description="queued, sent, skipped, failed, bounced, opened, clicked or complained"
    )
    reason: str | None
    details: dict[str, Any] | None = Field(
        default=None,
        description="What the channel noted: a webhook's HTTP status and endpoint, a Slack "
        "destination, an SMS's segments, the fatigue or quiet-hours decision",
    )
    created_at: datetime
    sent_at: datetime | None
    opened_at: datetime | None = None
    clicked_at: datetime | None = None


class MessageList(BaseModel):
    data: list[LoggedMessage]


class OptOutRecord(BaseModel):
    """One thing a person left on the preference page."""

    scope: Literal["all", "channel", "flow"]
    name: str = Field(description="The channel or flow; empty for everything")
    via: str = Field(description="Where: preferences, sms_stop, api")
    created_at: datetime
