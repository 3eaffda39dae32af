"""Request and response shapes of `/api/v1/templates`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class SavedTemplate(BaseModel):
    name: str
    version: int
    version_id: str
    created_at: datetime
    unchanged: bool = Field(description="True when the template equals its latest version")


class TemplateSummary(BaseModel):
    id: str
    name: str
    channel: Literal["email"]
    version: int = Field(description="The latest version")
    created_at: datetime


class TemplateList(BaseModel):
    data: list[TemplateSummary]


class TemplateParts(BaseModel):
    subject: str
    preheader: str
    html: str
    text: str


class VersionSummary(BaseModel):
    version: int
    id: str
    created_by: str = Field(description="The key (or `operator`) that saved it")
    created_at: datetime


class TemplateDetail(BaseModel):
    name: str
    version: int
    version_id: str
    created_at: datetime
    source: dict[str, Any] = Field(description="The template as it was saved")
    compiled: TemplateParts = Field(description="What sends render: CSS inlined, text derived")
    versions: list[VersionSummary]


class PreviewRequest(BaseModel):
    version: int | None = Field(default=None, description="The latest when not given")
    profile_id: str | None = Field(
        default=None, description="Render for this person; the built-in sample person if not given"
    )
    context: dict[str, Any] = Field(
        default_factory=dict,
        description="Replaces parts of the sample (event, cart, order, products, shop)",
    )


class Preview(TemplateParts):
    version: int
