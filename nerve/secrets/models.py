"""The secrets table: one encrypted value per workspace and name."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nerve.db.base import Base, created_at_column


class Secret(Base):
    __tablename__ = "secrets"

    workspace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    # Fernet token of "<workspace>/<name>\n<value>" (see vault.py): unreadable without
    # NERVE_SECRET_KEY, and bound to its row.
    ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()
