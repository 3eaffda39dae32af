"""What an erasure keeps: keyed hashes of erased identifiers, never the identifiers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from nerve.db.base import Base, created_at_column


class ErasedIdentifier(Base):
    """A keyed hash of an erased user id, email or phone, so suppression works after erasure."""

    __tablename__ = "erased_identifiers"

    workspace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    type: Mapped[str] = mapped_column(String(64), primary_key=True)
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    erased_at: Mapped[datetime] = created_at_column()
