"""The webhook endpoints table: one named receiver per workspace. Its signing secrets live in
the secrets table, encrypted (nerve/secrets), as `webhook.<name>` and `webhook.<name>.previous`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nerve.db.base import Base, created_at_column


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    workspace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(16))  # enabled, disabled
    disabled_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # When the current secret was made; until `previous_secret_expires_at` the one it replaced
    # signs too (Standard Webhooks: several signatures, space-separated, during a rotation).
    secret_created_at: Mapped[datetime] = created_at_column()
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()
