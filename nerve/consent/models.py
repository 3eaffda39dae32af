"""One consent per address, channel and topic, with its proof record."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nerve.db.base import Base, created_at_column


class Consent(Base):
    __tablename__ = "consents"

    workspace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[str] = mapped_column(String(320), primary_key=True)  # normalised
    topic: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # pending, subscribed, unsubscribed
    # The sign-up: what the person agreed to, where, from which device.
    consent_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    text_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    signed_up_at: Mapped[datetime] = created_at_column()
    via: Mapped[str] = mapped_column(String(32))  # form, api, import
    # Double opt-in: the confirmation mail and the click that confirmed it.
    confirmation_sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    confirmation_message_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    confirmed_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    confirmed_user_agent: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    # Withdrawal: kept after it, as proof of when the consent ended and how.
    withdrawn_at: Mapped[datetime | None] = mapped_column(nullable=True)
    withdrawn_via: Mapped[str | None] = mapped_column(String(32), nullable=True)
    updated_at: Mapped[datetime] = created_at_column()


class ConsentTopic(Base):
    """A list people can join on a channel (the newsletter, back-in-stock alerts, the VIP
    offers): what a sign-up names, what the preference page offers, what a marketing send
    needs consent to."""

    __tablename__ = "consent_topics"

    workspace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = created_at_column()
