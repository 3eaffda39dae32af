"""The types a capability uses to register its personal data (see nerve/privacy/registry.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection


@dataclass(frozen=True)
class Subject:
    """The person being exported or erased: every profile and identifier they hold."""

    workspace_id: str
    person_id: str
    profile_ids: list[str]
    identifiers: list[tuple[str, str]]

    def values(self, identifier_type: str) -> list[str]:
        return [value for kind, value in self.identifiers if kind == identifier_type]


@dataclass(frozen=True)
class PersonalData:
    """One kind of personal data a capability holds.

    `tables`: the tables it lives in (a test fails for a table with personal columns that no
    registration names). `export` returns this section of the person's export (None: nothing
    to show, e.g. derived data already in another section). `erase` deletes it; it runs inside
    the erasure's transaction, before the person's identity is deleted."""

    name: str
    tables: tuple[str, ...]
    erase: Callable[[Connection, Subject], None]
    export: Callable[[Connection, Subject], Any] | None = None
