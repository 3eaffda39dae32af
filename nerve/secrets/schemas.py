"""Request and response shapes of `/api/v1/secrets`: a value goes in, never comes out."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, SecretStr


class NewSecret(BaseModel):
    value: SecretStr = Field(description="The secret itself; stored encrypted, never returned")


class SecretInfo(BaseModel):
    name: str
    created_at: datetime
    updated_at: datetime = Field(description="When the value was last set")


class SecretList(BaseModel):
    data: list[SecretInfo]
