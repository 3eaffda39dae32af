"""Request and response shapes of `/api/v1/slack-destinations`: a webhook URL goes in, only its
host comes out (the rest of it is the token that posts to the channel)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, SecretStr

from nerve.channels.slack.destinations import MAX_URL


class NewSlackDestination(BaseModel):
    url: SecretStr = Field(
        min_length=1, max_length=MAX_URL,
        description="The Slack incoming-webhook URL (https://hooks.slack.com/services/…); "
        "stored encrypted, never returned",
        examples=["https://hooks.slack.com/services/T000/B000/XXXX"],
    )  # fmt: skip


class SlackDestination(BaseModel):
    name: str = Field(description="What flows name it by (`with: {destination: team-alerts}`)")
    url_hint: str | None = Field(
        description="The URL's scheme and host only (`https://hooks.slack.com/…`); null when "
        "it cannot be decrypted with this process's NERVE_SECRET_KEY"
    )
    created_at: datetime
    updated_at: datetime = Field(description="When the URL was last set")


class SlackDestinationList(BaseModel):
    data: list[SlackDestination]
