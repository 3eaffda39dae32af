"""Shop connectors: add, list and remove them; find one by the source id in its webhook URL.

A connector is a shop (Shopify, WooCommerce, Shopware) posting webhooks; it has a source of
its own (kind `server`, write key revoked: no head can send as the shop) whose id is the last
part of the webhook URL, and its signing secret is kept in the vault as `connector.<name>`.
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from nerve.audit import service as audit
from nerve.connectors.models import Connector
from nerve.connectors.signatures import PLATFORMS, Platform
from nerve.db.base import new_id
from nerve.errors import Conflict, InvalidInput, NotFound
from nerve.secrets import service as secrets
from nerve.secrets.vault import Vault
from nerve.workspaces import service as workspaces

NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


@dataclass(frozen=True)
class ConnectorInfo:
    id: str
    workspace_id: str
    name: str
    platform: str
    source_id: str
    created_at: datetime
    currency: str | None = None

    @property
    def path(self) -> str:
        """Where the shop posts its webhooks (after NERVE_PUBLIC_URL)."""
        return f"/webhooks/{self.platform}/{self.source_id}"


@dataclass(frozen=True)
class VerifyingConnector:
    """A connector with its signing secret, for checking one request; never shown."""

    connector: ConnectorInfo
    secret: str | None


_COLUMNS = (
    Connector.id, Connector.workspace_id, Connector.name, Connector.platform,
    Connector.source_id, Connector.created_at, Connector.currency,
)  # fmt: skip


def check_platform(platform: str) -> Platform:
    for known in PLATFORMS:
        if platform == known:
            return known
    raise InvalidInput(f"unknown shop platform {platform!r}", details={"allowed": list(PLATFORMS)})


def add(
    conn: Connection, vault: Vault, workspace_id: str, platform: str, name: str, secret: str,
    actor: str, currency: str | None = None,
) -> ConnectorInfo:  # fmt: skip
    """A new connector with its source and its secret (encrypted: 503 without
    NERVE_SECRET_KEY); 409 when the name is taken by a connector or by a head's source."""
    checked = check_platform(platform)
    if not NAME.fullmatch(name):
        raise InvalidInput(
            "a connector's name is 1-64 lower-case letters, digits, dots, dashes and "
            "underscores, starting with a letter or digit (such as shopify-main)"
        )
    if currency is not None and not re.fullmatch(r"[A-Za-z]{3}", currency):
        raise InvalidInput(f"{currency!r} is not an ISO 4217 currency code (such as EUR)")
    if not secret.strip():
        raise InvalidInput("a connector needs the shop's webhook signing secret")
    taken = select(Connector.id).where(Connector.workspace_id == workspace_id,
                                       Connector.name == name)  # fmt: skip
    if conn.scalar(taken) is not None:
        raise Conflict(f"a connector called {name!r} already exists")
    source = workspaces.create_source(conn, workspace_id, name, "server")
    workspaces.revoke_write_key(conn, workspace_id, source.id, actor)
    secret_name = f"connector.{name}"
    secrets.put(conn, vault, workspace_id, secret_name, secret, actor)
    connector_id = new_id("con")
    conn.execute(
        insert(Connector).values(
            id=connector_id, workspace_id=workspace_id, name=name, platform=checked,
            source_id=source.id, secret_name=secret_name,
            currency=currency.upper() if currency else None,
        )
    )  # fmt: skip
    audit.record(conn, workspace_id, actor, "connector.added", name)
    return find(conn, workspace_id, name)


def listed(conn: Connection, workspace_id: str) -> list[ConnectorInfo]:
    rows = conn.execute(
        select(*_COLUMNS).where(Connector.workspace_id == workspace_id).order_by(Connector.name)
    )
    return [ConnectorInfo(*row) for row in rows]


def find(conn: Connection, workspace_id: str, name: str) -> ConnectorInfo:
    row = conn.execute(
        select(*_COLUMNS).where(Connector.workspace_id == workspace_id, Connector.name == name)
    ).first()
    if row is None:
        raise NotFound(f"no connector called {name!r}")
    return ConnectorInfo(*row)


def remove(conn: Connection, workspace_id: str, name: str, actor: str) -> None:
    """Forget the connector, its secret, its deliveries and dead letters; its source stays
    (the events it recorded name it), its write key still revoked."""
    connector = find(conn, workspace_id, name)
    conn.execute(delete(Connector).where(Connector.id == connector.id))
    with suppress(NotFound):  # removed by hand with `nerve secrets delete`: nothing to forget
        secrets.remove(conn, workspace_id, f"connector.{name}", actor)
    audit.record(conn, workspace_id, actor, "connector.removed", name)


def for_webhook(
    conn: Connection, vault: Vault, platform: str, source_id: str
) -> VerifyingConnector:
    """The connector a webhook URL names, with its secret (None if it was deleted)."""
    row = conn.execute(
        select(*_COLUMNS, Connector.secret_name).where(
            Connector.source_id == source_id, Connector.platform == platform
        )
    ).first()
    if row is None:
        raise NotFound(f"no {platform} connector at this URL")
    connector = ConnectorInfo(*row[:7])
    return VerifyingConnector(
        connector, secrets.reveal(conn, vault, connector.workspace_id, row.secret_name)
    )
