"""Merge rules, configurable per workspace."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Connection, select

from nerve.identity.models import IdentityRules

# Stronger identifiers first: they decide which profile an event belongs to and who survives.
DEFAULT_PRIORITY = ["user_id", "email", "phone", "external", "anonymous_id"]


class MergeRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unique_types: list[str] = Field(
        default=["user_id", "email"],
        description="Identifier types of which a profile holds at most one value; two profiles "
        "with different values of such a type are never merged.",
    )
    max_anonymous_ids: int = Field(
        default=100,
        ge=1,
        le=1_000_000,  # stored as JSON: a bound keeps it a 64-bit integer
        description="A profile holds at most this many anonymous ids.",
    )
    priority: list[str] = Field(default=DEFAULT_PRIORITY)
    external_id_traits: list[str] = Field(
        default=["shopify_customer_id", "woocommerce_customer_id", "shopware_customer_id"],
        description="Traits that are identifiers of an outside system.",
    )
    first_value_traits: list[str] = Field(
        default=[], description="Traits where the first value ever seen wins, not the latest."
    )
    default_region: str = Field(default="DE", description="Region for phone numbers without +")

    @field_validator("unique_types", "priority")
    @classmethod
    def _no_duplicates(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists each identifier type once")
        return value

    def rank(self, identifier_type: str) -> int:
        base = identifier_type if identifier_type in self.priority else "external"
        return self.priority.index(base) if base in self.priority else len(self.priority)


def load_rules(conn: Connection, workspace_id: str) -> MergeRules:
    stored = conn.scalar(
        select(IdentityRules.rules).where(IdentityRules.workspace_id == workspace_id)
    )
    return MergeRules.model_validate(stored or {})
