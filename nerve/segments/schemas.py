"""Request and response models of the segments API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class Applied(BaseModel):
    key: str
    version: int
    unchanged: bool = Field(description="The definition equals the active version: no new one")


class Valid(BaseModel):
    valid: bool
    key: str


class Preview(BaseModel):
    key: str
    members: int = Field(description="How many people the definition holds now")
    sample: list[str] = Field(description="Up to 10 of them (person ids)")


class SegmentOut(BaseModel):
    id: str
    key: str
    name: str
    description: str | None
    public: bool = Field(description="Whether the personalization API may show it to heads")
    version: int = Field(description="The active version")
    status: str = Field(description="building (a background build is filling it) or ready")
    members: int
    created_at: datetime
    updated_at: datetime


class SegmentList(BaseModel):
    segments: list[SegmentOut]


class Build(BaseModel):
    version: int
    status: str = Field(description="pending, done, or superseded by a newer version")
    done: int = Field(description="People evaluated so far")
    total: int = Field(description="People when the build started")
    finished_at: datetime | None


class VersionOut(BaseModel):
    version: int
    created_at: datetime


class SegmentDetail(SegmentOut):
    definition: dict[str, Any]
    build: Build | None
    versions: list[VersionOut]


class MemberPage(BaseModel):
    members: list[str] = Field(description="Person ids, ascending")
    next: str | None = Field(description="Pass as `after` for the next page; null at the end")


class SegmentRefOut(BaseModel):
    key: str
    name: str
    public: bool


class ProfileSegments(BaseModel):
    segments: list[SegmentRefOut]


class ExportedMembership(BaseModel):
    key: str
    name: str
    entered_at: datetime


class ExportedChange(BaseModel):
    segment: str
    change: str = Field(description="entered or exited")
    at: datetime


class SegmentExport(BaseModel):
    segments: list[ExportedMembership] = Field(description="The segments the person is in now")
    changes: list[ExportedChange] = Field(description="Their entries and exits")
