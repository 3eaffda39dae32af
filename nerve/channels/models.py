"""Templates and their immutable versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nerve.db.base import Base, Json, created_at_column


class Template(Base):
    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = created_at_column()


class TemplateVersion(Base):
    """What was saved (`source`) and what is sent (`compiled`: CSS inlined, text derived)."""

    __tablename__ = "template_versions"
    __table_args__ = (UniqueConstraint("template_id", "version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    template_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("templates.id", ondelete="CASCADE"), index=True
    )
    workspace_id: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[dict[str, Any]]
    compiled: Mapped[dict[str, Any]]
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()


class Message(Base):
    """Every message Nerve sent, skipped or failed to send: the message log.

    `idempotency_key` (a flow step's key, or the transactional API's `Idempotency-Key`) makes a
    send happen once: a retry finds the row and does not send again once it is `sent`, and the
    Message-ID derived from it is the same on every attempt."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("workspace_id", "idempotency_key"),
        Index("ix_messages_profile", "profile_id"),
        Index("ix_messages_workspace_created", "workspace_id", "created_at"),
        # Bounce and complaint reports name their message by its Message-ID.
        Index("ix_messages_message_id", "message_id"),
        # The fatigue policy counts a person's recent messages on every marketing send.
        Index("ix_messages_person_recent", "workspace_id", "profile_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    profile_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))  # marketing or transactional
    topic: Mapped[str | None] = mapped_column(String(64), nullable=True)
    template: Mapped[str | None] = mapped_column(String(100), nullable=True)
    template_version_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    flow: Mapped[str | None] = mapped_column(String(100), nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    node: Mapped[str | None] = mapped_column(String(100), nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(255))
    message_id: Mapped[str] = mapped_column(String(255))
    recipient: Mapped[str | None] = mapped_column(String(320), nullable=True)
    subject: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # The tracked links' targets (a click token names an index into it: a redirect goes only
    # where the mail pointed), and the first open and click.
    links: Mapped[list[str] | None] = mapped_column(Json, nullable=True)
    opened_at: Mapped[datetime | None] = mapped_column(nullable=True)
    clicked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # What a channel adds: an SMS's segments and encoding, the push subscriptions reached, a
    # webhook's endpoint and answer, a deferral's time.
    details: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)


class OptOut(Base):
    """What a person left on the preference page, beside the per-topic consents: everything
    (`all`), a whole channel (`channel`, name sms) or one flow (`flow`, name its name). Flows
    marked critical (order and payment messages) are not held back by any of them."""

    __tablename__ = "opt_outs"

    workspace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    profile_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    scope: Mapped[str] = mapped_column(String(16), primary_key=True)  # all, channel, flow
    name: Mapped[str] = mapped_column(String(100), primary_key=True)  # '' for all
    via: Mapped[str] = mapped_column(String(32))  # preferences, sms_stop, api
    created_at: Mapped[datetime] = created_at_column()


class DeliveryPolicy(Base):
    """A workspace's fatigue cap, quiet hours and best-send-time settings (one JSON document,
    validated by nerve/channels/timing)."""

    __tablename__ = "delivery_policies"

    workspace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    policy: Mapped[dict[str, Any]]
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = created_at_column()


class Suppression(Base):
    """Addresses no mail goes to: hard bounces, complaints, unsubscribes from everything.
    Keyed by a hash of the normalised address (as erased people's are), so the list itself
    holds no address in the clear."""

    __tablename__ = "suppressions"

    workspace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    address_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(32), primary_key=True)  # hard_bounce, ...
    detail: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    created_at: Mapped[datetime] = created_at_column()
