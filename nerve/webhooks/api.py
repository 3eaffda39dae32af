"""`/api/v1/webhook-endpoints`: the receivers flows call by name, with their signing secrets."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from nerve.admin_routes import AdminRoute
from nerve.auth.api import requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.db.session import Db, WriteDb
from nerve.errors import Conflict, Unavailable, documented
from nerve.outbound.policy import OutboundPolicy
from nerve.secrets.vault import Vault
from nerve.webhooks import service
from nerve.webhooks.schemas import (
    CreatedWebhookEndpoint,
    EndpointDisabling,
    NewWebhookEndpoint,
    RotatedWebhookSecret,
    SecretRotation,
    WebhookEndpointInfo,
    WebhookEndpointList,
)

router = APIRouter(prefix="/api/v1/webhook-endpoints", tags=["webhooks"], route_class=AdminRoute)
Manager = Annotated[Principal, requires(Permission.WEBHOOKS_MANAGE)]
EndpointName = Annotated[str, Path(description="The endpoint's name")]


def _vault(request: Request) -> Vault:
    vault: Vault = request.app.state.services.vault
    return vault


@router.get("", response_model=WebhookEndpointList)
def list_endpoints(db: Db, key: Manager) -> dict[str, Any]:
    """The workspace's endpoints with their status; never a secret."""
    return {"data": [asdict(e) for e in service.listed(db, key.workspace_id)]}


@router.post("", response_model=CreatedWebhookEndpoint, status_code=201,
             responses=documented(Conflict, Unavailable))  # fmt: skip
def create_endpoint(
    request: Request, db: WriteDb, key: Manager, new: NewWebhookEndpoint
) -> dict[str, Any]:
    """A new endpoint, enabled, with its signing secret — in this answer only (503 while
    NERVE_SECRET_KEY is unset: the secret is kept encrypted)."""
    outbound = OutboundPolicy.configured(request.app.state.settings)
    created = service.create(db, _vault(request), outbound, key.workspace_id, new.name, new.url,
                             actor=key.key_id)  # fmt: skip
    return asdict(created.endpoint) | {"secret": created.secret}


@router.get("/{endpoint_name}", response_model=WebhookEndpointInfo)
def get_endpoint(db: Db, key: Manager, endpoint_name: EndpointName) -> dict[str, Any]:
    """One endpoint: its URL, status and when its secret was made; never the secret."""
    return asdict(service.find(db, key.workspace_id, endpoint_name))


@router.post("/{endpoint_name}/rotate", response_model=RotatedWebhookSecret,
             responses=documented(Unavailable))  # fmt: skip
def rotate_secret(
    request: Request,
    db: WriteDb,
    key: Manager,
    endpoint_name: EndpointName,
    rotation: SecretRotation | None = None,
) -> dict[str, Any]:
    """A new signing secret, in this answer only. The one it replaces signs too for
    `grace_seconds` (default a day): every request carries both signatures meanwhile."""
    grace = timedelta(seconds=(rotation or SecretRotation()).grace_seconds)
    rotated = service.rotate(db, _vault(request), key.workspace_id, endpoint_name, grace,
                             actor=key.key_id)  # fmt: skip
    return asdict(rotated.endpoint) | {"secret": rotated.secret}


@router.post("/{endpoint_name}/enable", response_model=WebhookEndpointInfo)
def enable_endpoint(db: WriteDb, key: Manager, endpoint_name: EndpointName) -> dict[str, Any]:
    """Send to the endpoint again, after a 410 Gone or a disable."""
    return asdict(service.enable(db, key.workspace_id, endpoint_name, actor=key.key_id))


@router.post("/{endpoint_name}/disable", response_model=WebhookEndpointInfo)
def disable_endpoint(
    db: WriteDb,
    key: Manager,
    endpoint_name: EndpointName,
    disabling: EndpointDisabling | None = None,
) -> dict[str, Any]:
    """Stop sending: steps to it are dead-lettered at once, with the reason, until enabled."""
    reason = (disabling or EndpointDisabling()).reason
    return asdict(service.disable(db, key.workspace_id, endpoint_name, reason, actor=key.key_id))


@router.delete("/{endpoint_name}", status_code=204)
def delete_endpoint(db: WriteDb, key: Manager, endpoint_name: EndpointName) -> Response:
    """Forget the endpoint and its secrets; steps of flows still naming it are dead-lettered."""
    service.remove(db, key.workspace_id, endpoint_name, actor=key.key_id)
    return Response(status_code=204)
