"""Where an audience goes: one small interface, a registry by kind.

A destination takes batches of hashed member records to add or remove and either accepts a
batch (returns), asks for it again later (`TryAgain`: down, throttled, timed out — the sync
keeps its cursor and retries with backoff), or refuses it for good (`Refused`: the batch is
dead-lettered — counted, its error kept — and the sync moves on).

A platform connector (Meta Custom Audiences, Google Customer Match) is a class with `add` and
`remove` registered under its kind in `KINDS`, built from the sync's `config` and the process'
`DestinationContext`; it gets hashes only, never an address. Only `webhook` ships (Nerve has no
business calling the platforms' APIs from here without credentials and network to test them);
`csv` is an export, read through `GET /api/v1/audiences/{id}/export.csv`, and has no push.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from sqlalchemy import Engine

from nerve.audiences.hashing import HashedMember
from nerve.outbound import http
from nerve.outbound.policy import OutboundPolicy
from nerve.secrets.vault import Vault


class TryAgain(Exception):
    """The destination did not take the batch now; the same batch goes again later."""


class Refused(Exception):
    """The destination refused the batch for good (a 4xx): it is dead-lettered."""


@dataclass(frozen=True)
class Batch:
    """One request's worth of changes to one audience."""

    audience: str  # the sync's name, which the receiver maps to its platform audience
    audience_id: str
    segment: str  # the segment's key
    idempotency_key: str  # the same on every attempt of this batch
    members: list[HashedMember]


class AudienceDestination(Protocol):
    def add(self, batch: Batch) -> None: ...

    def remove(self, batch: Batch) -> None: ...


@dataclass(frozen=True)
class DestinationContext:
    """What a destination may need of the process: the database (an endpoint's secrets), the
    vault, the outbound policy every call goes through, and one pooled HTTP client under it
    (building one, with its TLS context, costs tens of milliseconds)."""

    engine: Engine
    vault: Vault
    outbound: OutboundPolicy
    client: httpx.Client

    @classmethod
    def open(cls, engine: Engine, vault: Vault, outbound: OutboundPolicy) -> DestinationContext:
        limits = httpx.Limits(max_connections=8, max_keepalive_connections=4)
        return cls(engine, vault, outbound, http.client(outbound, limits=limits))

    def close(self) -> None:
        self.client.close()


Factory = Callable[[str, dict[str, Any], DestinationContext], AudienceDestination]
# kind → (builds the destination for a workspace and config, checks a config)
KINDS: dict[str, Factory] = {}
EXPORT_ONLY = frozenset({"csv"})


def register(kind: str, factory: Factory) -> None:
    KINDS[kind] = factory


def build(
    kind: str, workspace_id: str, config: dict[str, Any], context: DestinationContext
) -> AudienceDestination | None:
    """The destination of a sync; None for an export-only kind (nothing to push)."""
    if kind in EXPORT_ONLY:
        return None
    if kind not in KINDS:
        raise Refused(f"no destination of kind {kind!r} in this Nerve")
    return KINDS[kind](workspace_id, config, context)


def kinds() -> list[str]:
    return sorted({*KINDS, *EXPORT_ONLY})


def _register_shipped() -> None:
    from nerve.audiences.destinations.webhook import WebhookDestination

    register("webhook", WebhookDestination.of)


_register_shipped()
