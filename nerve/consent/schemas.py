"""Request and response shapes of `/api/v1/consent`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

Topic = str


class NewConsent(BaseModel):
    email: str | None = Field(default=None, max_length=320, description="An email opt-in's address")
    phone: str | None = Field(
        default=None, max_length=40,
        description="An SMS opt-in's number, in E.164 (+4915…; without +country: the "
        "workspace's region). Recorded as given: double_opt_in false, with the proof",
    )  # fmt: skip
    topic: Topic = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="Such as newsletter")
    consent_text: str = Field(
        min_length=1, max_length=10_000, description="What the person agreed to, word for word"
    )
    text_version: str | None = Field(default=None, max_length=64)
    source_url: str | None = Field(default=None, max_length=2000)
    ip: str | None = Field(default=None, max_length=64, description="The person's, not the shop's")
    user_agent: str | None = Field(default=None, max_length=1000)
    double_opt_in: bool = Field(
        default=True,
        description="Send a confirmation mail and count the consent only after its link is "
        "clicked. false: a consent given elsewhere, imported with its proof",
    )

    @model_validator(mode="after")
    def _one_address(self) -> NewConsent:
        if (self.email is None) == (self.phone is None):
            raise ValueError("give `email` (an email opt-in) or `phone` (an SMS opt-in), one")
        return self

    @property
    def channel(self) -> Literal["email", "sms"]:
        return "sms" if self.phone is not None else "email"


class ConsentRecord(BaseModel):
    channel: str
    address: str
    topic: str
    status: Literal["pending", "subscribed", "unsubscribed"]
    consent_text: str | None
    text_version: str | None
    source_url: str | None
    ip: str | None
    user_agent: str | None
    signed_up_at: datetime
    via: str
    confirmation_sent_at: datetime | None
    confirmation_message_id: str | None
    confirmed_at: datetime | None
    confirmed_ip: str | None
    confirmed_user_agent: str | None
    withdrawn_at: datetime | None
    withdrawn_via: str | None


class SignedUp(ConsentRecord):
    confirmation: Literal["sent", "not_needed", "recently_sent"] = Field(
        description="recently_sent: a confirmation went to this address in the last 15 minutes; "
        "none is sent again before then"
    )


class ConsentList(BaseModel):
    data: list[ConsentRecord]


class TopicFields(BaseModel):
    title: str = Field(min_length=1, max_length=200, description="As the preference page shows it")
    description: str | None = Field(default=None, max_length=2000)


class ConsentTopicOut(TopicFields):
    channel: Literal["email", "sms", "push"]
    name: str


class ConsentTopicList(BaseModel):
    data: list[ConsentTopicOut]
