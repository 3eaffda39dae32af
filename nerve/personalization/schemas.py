"""Request and response models of the slots admin API and the personalization API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from nerve.recommendations.schemas import Recommended


class SlotSummary(BaseModel):
    key: str
    kind: str = Field(description="`content` or `product_list`")
    name: str
    version: int = Field(description="The live version")
    created_at: datetime
    updated_at: datetime


class SlotList(BaseModel):
    data: list[SlotSummary]


class SlotVersionInfo(BaseModel):
    version: int
    created_by: str = Field(description="The key (or `operator`) that saved it")
    created_at: datetime


class SlotDetail(SlotSummary):
    definition: dict[str, Any] = Field(description="The live version's definition")
    versions: list[SlotVersionInfo]


class SavedSlot(BaseModel):
    key: str
    kind: str
    version: int
    unchanged: bool = Field(description="Equal to the live version: nothing was saved")
    created_at: datetime


class VariantStats(BaseModel):
    variant: str = Field(description="`-`: a product_list slot with nothing to pin or boost")
    experiment: str | None
    arm: str | None = Field(description="`holdout` for the experiment's holdout group")
    impressions: int
    people: int = Field(description="Distinct known people shown it")
    first_at: datetime
    last_at: datetime


class SlotStats(BaseModel):
    key: str
    data: list[VariantStats]


class PersonSeen(BaseModel):
    known: bool = Field(description="Whether the identity graph knows the visitor")


class Interest(BaseModel):
    key: str = Field(examples=["category:Running"])
    score: float


class ExperimentArm(BaseModel):
    key: str
    arm: str = Field(description="`holdout`: the group that gets the default")


class SlotDecision(BaseModel):
    variant: str
    content: dict[str, Any]
    reason: str = Field(description="`default`, `rule:NAME` (or its number), or `holdout`")
    experiment: ExperimentArm | None


class Boost(BaseModel):
    sku: str | None = None
    category: str | None = None
    collection: str | None = None
    weight: float


class ProductListDecision(BaseModel):
    variant: str | None = Field(description="None: nothing to pin or boost")
    pinned: list[str] = Field(description="Skus to show first, in this order")
    boosts: list[Boost]
    bury_out_of_stock: bool = Field(description="Show products with no stock last")
    reason: str
    experiment: ExperimentArm | None


class Personalized(BaseModel):
    person: PersonSeen
    segments: list[str] = Field(description="Keys of the public segments the visitor is in")
    interests: list[Interest] = Field(description="The top interests, highest first")
    recommendations: list[Recommended] = Field(description="`recommendations=N` products")
    slots: dict[str, SlotDecision] = Field(description="Content slots by key")
    product_lists: dict[str, ProductListDecision] = Field(description="product_list slots")
    unknown_slots: list[str] = Field(description="Asked for, but no slot has that key")


class ShownSlot(BaseModel):
    """A decision shown to the person (or a device of theirs): a section of their export."""

    slot_key: str
    variant: str
    experiment: str | None
    arm: str | None
    anonymous_id: str | None = Field(description="As the head sent it")
    user_id: str | None = Field(description="As the head sent it")
    at: datetime
