"""What the recommendations API, the personalization API and templates get."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

KINDS = ("bought_together", "also_bought", "also_viewed")
Kind = Literal["bought_together", "also_bought", "also_viewed"]


class Recommended(BaseModel):
    """A product to show, as the catalog has it now, with why it was chosen."""

    sku: str
    product_id: str | None = None
    name: str | None = None
    price: str | None = Field(default=None, description='Decimal string, e.g. "19.90"')
    currency: str | None = None
    url: str | None = None
    image_url: str | None = None
    score: float
    reason: str = Field(
        description="due_again (a consumable bought its usage period ago), personal (the "
        "model, from the person's views, cart adds and purchases), bought_together, "
        "also_bought, also_viewed, popular_in_category, popular"
    )


class Recommendations(BaseModel):
    items: list[Recommended]


class RunOut(BaseModel):
    id: int
    model: str
    status: str
    counts: dict[str, Any]
    metrics: dict[str, Any]
    error: str | None = None
    started_at: datetime
    trained_at: datetime


class TrainingStatus(BaseModel):
    """When the workspace trains next and what its latest runs did."""

    due_at: datetime | None = Field(description="When a worker trains next (null: not yet "
                                    "scheduled: the first order schedules it)")  # fmt: skip
    requested_at: datetime | None = None
    runs: list[RunOut]
