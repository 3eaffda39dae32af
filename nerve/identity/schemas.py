"""Shapes of the identity API: the merge log and unmerge."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class MergeRecord(BaseModel):
    """One entry of the merge log, with the reason for it."""

    id: str
    kind: str = Field(description="merged, rejected (a refused merge), relinked or unmerged")
    survivor_id: str
    merged_id: str
    event_id: int | None = Field(description="The event that caused it; null when manual")
    rule: str
    reason: str
    details: Any = Field(description="What the rule saw")
    created_at: datetime
    undone_at: datetime | None


class MergeLog(BaseModel):
    data: list[MergeRecord] = Field(description="Oldest first")


class UnmergeRequest(BaseModel):
    merge_id: str | None = Field(
        default=None, description="The merge to undo; default: the latest into this profile"
    )


class Unmerged(BaseModel):
    survivor_id: str = Field(description="The person the merged profile left")
    restored_id: str = Field(description="The profile that is a person of its own again")
