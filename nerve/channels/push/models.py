"""Push subscriptions: a browser's Web Push endpoint and keys, or an app's device token.

A subscription is kept under the identifier the head registered it with (an anonymous id, a
user id), not under a profile: a send finds the subscriptions of every identifier the person has
now, so merges, re-links and erasure need nothing of their own here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nerve.db.base import Base, Json, created_at_column


class PushSubscription(Base):
    __tablename__ = "push_subscriptions"
    __table_args__ = (
        UniqueConstraint("workspace_id", "endpoint_hash"),
        Index("ix_push_subscriptions_identifier", "workspace_id", "identifier_type",
              "identifier_value"),
    )  # fmt: skip

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # webpush, fcm
    endpoint: Mapped[str] = mapped_column(String(2000))  # the push service URL, or FCM token
    endpoint_hash: Mapped[str] = mapped_column(String(64))  # sha256 of endpoint: unique
    keys: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)  # p256dh, auth
    identifier_type: Mapped[str] = mapped_column(String(32))
    identifier_value: Mapped[str] = mapped_column(String(320))
    user_agent: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    created_at: Mapped[datetime] = created_at_column()
    last_sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
