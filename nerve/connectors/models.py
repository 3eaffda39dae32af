"""Connectors tables."""

from __future__ import annotations

from nerve.db.base import Base  # noqa: F401
