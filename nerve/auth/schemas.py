"""Request and response shapes of the API-key routes; a secret appears only in `CreatedApiKey`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

# The roles of nerve.auth.roles.ROLES, spelled out so the OpenAPI document lists them (a unit
# test keeps the two the same).
Role = Literal["admin", "builder", "analyst", "staff"]


class ApiKeyInfo(BaseModel):
    id: str = Field(description="The key's id, also the part of the secret before the dot")
    role: Role
    created_at: datetime
    revoked_at: datetime | None = Field(description="When it was revoked; null while it works")


class ApiKeyList(BaseModel):
    data: list[ApiKeyInfo]


class NewApiKey(BaseModel):
    role: Role = "admin"


class CreatedApiKey(BaseModel):
    id: str
    role: Role
    secret_key: str = Field(
        description="Send as `Authorization: Bearer <secret_key>`. Shown only this once."
    )
    replaces: str | None = Field(default=None, description="The key this one rotated")
