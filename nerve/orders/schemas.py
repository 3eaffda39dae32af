"""Shapes of orders as the API shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class OrderRecord(BaseModel):
    order_id: str
    total: float
    currency: str | None
    ordered_at: datetime
