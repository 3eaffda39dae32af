"""Request and response shapes of `/v1/push/...`, the endpoints a head (browser or app) calls
with its source's write key."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

TOPIC = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class BrowserKeys(BaseModel):
    p256dh: str = Field(max_length=200, description="The browser's P-256 key (base64url)")
    auth: str = Field(max_length=100, description="The 16-byte auth secret (base64url)")


class BrowserSubscription(BaseModel):
    """What `PushSubscription.toJSON()` gives in the browser."""

    endpoint: str = Field(max_length=2000, description="The push service URL (https)")
    keys: BrowserKeys
    expirationTime: float | None = Field(default=None, description="Ignored")


class NewPushSubscription(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["webpush", "fcm"] = "webpush"
    subscription: BrowserSubscription | None = Field(
        default=None, description="Web Push: the browser's PushSubscription as JSON"
    )
    token: str | None = Field(
        default=None, max_length=2000, description="FCM: the app's registration token"
    )
    userId: str | None = Field(default=None, max_length=255)
    anonymousId: str | None = Field(
        default=None, max_length=255, description="When there is no userId yet"
    )
    topics: list[str] = Field(
        default_factory=list, max_length=50,
        description="Push topics the person agreed to with the permission prompt; recorded as "
        "consent with its proof (this request's IP and browser, consent_text, the time)",
    )  # fmt: skip
    consent_text: str | None = Field(
        default=None, max_length=10_000, description="What the prompt said, word for word"
    )
    text_version: str | None = Field(default=None, max_length=64)
    source_url: str | None = Field(default=None, max_length=2000)


class PushSubscribed(BaseModel):
    id: str
    kind: Literal["webpush", "fcm"]
    identifier: str = Field(description="user_id:… or anonymous_id:…, the subscription's owner")
    topics: list[str] = Field(description="The push topics consented to with this request")
    created: bool = Field(description="False: this endpoint was known and is updated")


class PushUnsubscribe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: str | None = Field(default=None, max_length=2000, description="Web Push")
    token: str | None = Field(default=None, max_length=2000, description="FCM")


class PushUnsubscribed(BaseModel):
    removed: bool = Field(description="False: no such subscription (already gone)")
    withdrawn: list[str] = Field(
        description="Push topics withdrawn: the identifier has no subscription left"
    )


class VapidPublicKey(BaseModel):
    public_key: str = Field(
        description="The VAPID public key (base64url): `applicationServerKey` of "
        "`pushManager.subscribe`"
    )


class PushSubscriptionRecord(BaseModel):
    """A subscription as a person's data export shows it."""

    kind: Literal["webpush", "fcm"]
    endpoint: str = Field(description="The push service URL, or the app's FCM token")
    user_agent: str | None
    identifier_type: str
    identifier_value: str
    created_at: datetime
    last_sent_at: datetime | None
