"""Create, list, rotate, enable, disable and delete webhook endpoints; and, for the flow
engine's sender, what a request to one needs (its URL and signing secrets) and turning it off
when its receiver answers 410 Gone.

A signing secret is shown once, when it is made (like an API key), and kept encrypted in the
secrets table through the vault, so `nerve secrets rotate` re-encrypts it with the others.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Connection, Engine, delete, select, update

from nerve import metrics
from nerve.audit import service as audit
from nerve.db.base import utcnow
from nerve.db.dialect import dialect_of
from nerve.db.engine import write_transaction
from nerve.errors import Conflict, InvalidInput, NotFound, Unavailable
from nerve.outbound import http
from nerve.outbound.policy import OutboundPolicy, OutboundRefused
from nerve.secrets import service as secrets
from nerve.secrets.vault import Vault
from nerve.webhooks import signing
from nerve.webhooks.models import WebhookEndpoint

log = structlog.get_logger(__name__)

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
NAME_RULE = "1-64 lower-case letters, digits, dashes and underscores, from a letter or digit"
MAX_URL = 2000
DEFAULT_GRACE = timedelta(hours=24)
MAX_GRACE = timedelta(days=7)
# The actor of what a receiver's answer changed, in the audit log.
DELIVERY = "webhook_delivery"


@dataclass(frozen=True)
class EndpointInfo:
    name: str
    url: str
    status: str  # enabled, disabled
    disabled_reason: str | None
    disabled_at: datetime | None
    secret_created_at: datetime
    previous_secret_expires_at: datetime | None  # None: only the current secret signs
    created_at: datetime


@dataclass(frozen=True)
class WithSecret:
    """An endpoint and its new signing secret: the one time the secret is shown."""

    endpoint: EndpointInfo
    secret: str


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise InvalidInput(f"a webhook endpoint's name is {NAME_RULE} (such as crm or erp-orders)")
    return name


def check_url(outbound: OutboundPolicy, url: str) -> str:
    """The URL if Nerve may call it as written (http or https, under the outbound policy)."""
    if len(url) > MAX_URL:
        raise InvalidInput(f"a webhook endpoint's url is at most {MAX_URL} characters")
    try:
        http.check_url(outbound, url)
    except OutboundRefused as exc:
        raise InvalidInput(f"url {exc}", details={"path": "url"}) from None
    return url


def create(
    conn: Connection, vault: Vault, outbound: OutboundPolicy, workspace_id: str, name: str,
    url: str, *, actor: str,
) -> WithSecret:  # fmt: skip
    """A new, enabled endpoint with a new signing secret (409 if the name is taken; 503
    without NERVE_SECRET_KEY, and then nothing is written: the transaction rolls back)."""
    check_name(name)
    check_url(outbound, url)
    now = utcnow()
    row = {"workspace_id": workspace_id, "name": name, "url": url, "status": "enabled",
           "secret_created_at": now, "created_at": now, "updated_at": now}  # fmt: skip
    statement = (
        dialect_of(conn)
        .insert_ignoring_duplicates(WebhookEndpoint.__table__, ["workspace_id", "name"])
        .returning(WebhookEndpoint.name)
    )
    if conn.execute(statement, row).first() is None:  # taken, perhaps a moment ago
        raise Conflict(f"there is already a webhook endpoint named {name!r}")
    secret = signing.new_secret()
    secrets.put(conn, vault, workspace_id, secret_name(name), secret, actor=actor)
    audit.record(conn, workspace_id, actor, "webhook_endpoint.created", name)
    return WithSecret(find(conn, workspace_id, name), secret)


def listed(conn: Connection, workspace_id: str) -> list[EndpointInfo]:
    rows = conn.execute(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.workspace_id == workspace_id)
        .order_by(WebhookEndpoint.name)
    )
    return [_info(row) for row in rows]


def find(conn: Connection, workspace_id: str, name: str) -> EndpointInfo:
    return _info(_row(conn, workspace_id, name))


def exists(conn: Connection, workspace_id: str, name: str) -> bool:
    return (
        conn.scalar(
            select(WebhookEndpoint.name).where(
                WebhookEndpoint.workspace_id == workspace_id, WebhookEndpoint.name == name
            )
        )
        is not None
    )


def rotate(
    conn: Connection, vault: Vault, workspace_id: str, name: str,
    grace: timedelta = DEFAULT_GRACE, *, actor: str,
) -> WithSecret:  # fmt: skip
    """A new signing secret. For `grace` the one it replaces signs too (each request carries
    both signatures), so receivers can take the new one on without refusing a request; a
    secret older than that is dropped. `grace` zero ends the old secret at once (it leaked)."""
    if not timedelta(0) <= grace <= MAX_GRACE:
        raise InvalidInput(f"the grace period is 0 to {MAX_GRACE.days} days")
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.workspace_id == workspace_id, WebhookEndpoint.name == name
    )
    if conn.execute(dialect_of(conn).for_update(query)).first() is None:  # two rotations queue
        raise NotFound(f"no webhook endpoint named {name!r}")
    current = secrets.reveal(conn, vault, workspace_id, secret_name(name))
    now = utcnow()
    expires = now + grace if grace and current is not None else None
    if expires is not None:
        assert current is not None
        secrets.put(conn, vault, workspace_id, previous_name(name), current, actor=actor)
    else:
        _forget(conn, workspace_id, previous_name(name), actor)
    secret = signing.new_secret()
    secrets.put(conn, vault, workspace_id, secret_name(name), secret, actor=actor)
    conn.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.workspace_id == workspace_id, WebhookEndpoint.name == name)
        .values(secret_created_at=now, previous_secret_expires_at=expires, updated_at=now)
    )
    audit.record(conn, workspace_id, actor, "webhook_endpoint.secret_rotated", name)
    return WithSecret(find(conn, workspace_id, name), secret)


def enable(conn: Connection, workspace_id: str, name: str, *, actor: str) -> EndpointInfo:
    """Send to the endpoint again (after it was disabled: its receiver is back)."""
    _row(conn, workspace_id, name)
    changed = _set_status(conn, workspace_id, name, "enabled", None)
    if changed:
        audit.record(conn, workspace_id, actor, "webhook_endpoint.enabled", name)
    return find(conn, workspace_id, name)


def disable(
    conn: Connection, workspace_id: str, name: str, reason: str, *, actor: str
) -> EndpointInfo:
    """Stop sending: steps to the endpoint are dead-lettered at once, with `reason`, until it
    is enabled again. Disabling a disabled endpoint keeps its first reason and time."""
    _row(conn, workspace_id, name)
    if _set_status(conn, workspace_id, name, "disabled", reason):
        audit.record(conn, workspace_id, actor, "webhook_endpoint.disabled", name)
    return find(conn, workspace_id, name)


def remove(conn: Connection, workspace_id: str, name: str, *, actor: str) -> None:
    """Forget the endpoint and its secrets; steps still naming it are dead-lettered."""
    deleted = conn.execute(
        delete(WebhookEndpoint).where(
            WebhookEndpoint.workspace_id == workspace_id, WebhookEndpoint.name == name
        )
    ).rowcount
    if not deleted:
        raise NotFound(f"no webhook endpoint named {name!r}")
    for secret in (secret_name(name), previous_name(name)):
        _forget(conn, workspace_id, secret, actor)
    audit.record(conn, workspace_id, actor, "webhook_endpoint.deleted", name)


def secret_name(endpoint: str) -> str:
    return f"webhook.{endpoint}"


def previous_name(endpoint: str) -> str:
    return f"webhook.{endpoint}.previous"


# --- for the sender ---------------------------------------------------------------------------


class Unusable(Exception):
    """A request to the endpoint cannot be made now as it stands: it is unknown, disabled, or
    its secret cannot be read. The message says why and what to do."""


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    secrets: tuple[str, ...]  # whsec_… the request is signed with, newest first


class Endpoints:
    """What the flow engine's webhook sender needs of the endpoints: read at each request, so
    a rotation, a disable or an enable counts from the next request in every worker."""

    def __init__(self, engine: Engine, vault: Vault) -> None:
        self.engine = engine  # the webhook sender writes its message log through it too
        self._vault = vault

    def target(self, workspace_id: str, name: str) -> Target:
        with self.engine.connect() as conn, conn.begin():
            row = conn.execute(
                select(WebhookEndpoint).where(
                    WebhookEndpoint.workspace_id == workspace_id, WebhookEndpoint.name == name
                )
            ).first()
            if row is None:
                raise Unusable(f"no webhook endpoint named {name!r} (deleted since the flow was "
                               "published?): create it, then replay the step")  # fmt: skip
            if row.status != "enabled":
                raise Unusable(
                    f"the webhook endpoint {name!r} is disabled since "
                    f"{row.disabled_at:%Y-%m-%d %H:%M:%S} UTC: {row.disabled_reason}. Nothing "
                    f"was sent; `nerve webhooks enable {name}` sends to it again"
                )
            keys = [self._reveal(conn, workspace_id, secret_name(name))]
            if keys[0] is None:
                raise Unusable(f"the webhook endpoint {name!r} has no signing secret: "
                               f"`nerve webhooks rotate {name}` makes one")  # fmt: skip
            expires = row.previous_secret_expires_at
            if expires is not None and expires > utcnow():
                keys.append(self._reveal(conn, workspace_id, previous_name(name)))
        return Target(name, row.url, tuple(k for k in keys if k is not None))

    def _reveal(self, conn: Connection, workspace_id: str, secret: str) -> str | None:
        try:
            return secrets.reveal(conn, self._vault, workspace_id, secret)
        except Unavailable as exc:  # no NERVE_SECRET_KEY here, or not the one it was stored under
            raise Unusable(exc.message) from None

    def gone(self, workspace_id: str, name: str, reason: str) -> None:
        """The receiver answered 410 Gone: the endpoint is disabled, with `reason`."""
        with write_transaction(self.engine) as conn:
            changed = _set_status(conn, workspace_id, name, "disabled", reason)
            if changed:
                audit.record(conn, workspace_id, DELIVERY, "webhook_endpoint.disabled", name)
        if changed:  # not again for each step that was already on its way
            metrics.WEBHOOK_ENDPOINTS_DISABLED.inc()
            log.warning("webhook_endpoint_disabled", workspace_id=workspace_id, endpoint=name,
                        reason=reason)  # fmt: skip


def _set_status(
    conn: Connection, workspace_id: str, name: str, status: str, reason: str | None
) -> bool:
    """Whether the status changed (conditional: of two changes racing, one is recorded)."""
    now = utcnow()
    disabled = status == "disabled"
    return bool(
        conn.execute(
            update(WebhookEndpoint)
            .where(
                WebhookEndpoint.workspace_id == workspace_id,
                WebhookEndpoint.name == name,
                WebhookEndpoint.status != status,
            )
            .values(
                status=status,
                disabled_reason=reason[:1000] if reason else None,
                disabled_at=now if disabled else None,
                updated_at=now,
            )
        ).rowcount
    )


def _forget(conn: Connection, workspace_id: str, secret: str, actor: str) -> None:
    with contextlib.suppress(NotFound):  # never set, or deleted through /api/v1/secrets
        secrets.remove(conn, workspace_id, secret, actor=actor)


def _row(conn: Connection, workspace_id: str, name: str) -> Any:
    row = conn.execute(
        select(WebhookEndpoint).where(
            WebhookEndpoint.workspace_id == workspace_id, WebhookEndpoint.name == name
        )
    ).first()
    if row is None:
        raise NotFound(f"no webhook endpoint named {name!r}")
    return row


def _info(row: Any) -> EndpointInfo:
    expires = row.previous_secret_expires_at
    return EndpointInfo(
        name=row.name, url=row.url, status=row.status, disabled_reason=row.disabled_reason,
        disabled_at=row.disabled_at, secret_created_at=row.secret_created_at,
        previous_secret_expires_at=expires if expires is not None and expires > utcnow() else None,
        created_at=row.created_at,
    )  # fmt: skip
