"""`/api/v1/slack-destinations`: the Slack channels flows post team alerts to, by name."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from nerve.admin_routes import AdminRoute
from nerve.auth.api import requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.channels.slack import destinations
from nerve.channels.slack.schemas import (
    NewSlackDestination,
    SlackDestination,
    SlackDestinationList,
)
from nerve.db.session import Db, WriteDb
from nerve.errors import NotFound, Unavailable, documented
from nerve.outbound.policy import OutboundPolicy
from nerve.secrets.vault import Vault

router = APIRouter(prefix="/api/v1/slack-destinations", tags=["slack"], route_class=AdminRoute)
Manager = Annotated[Principal, requires(Permission.SLACK_DESTINATIONS_MANAGE)]
# Checked by the service (400 on PUT; a name that cannot exist is simply not found elsewhere).
DestinationName = Annotated[
    str, Path(description=f"The destination's name: {destinations.NAME_RULE}")
]


def _vault(request: Request) -> Vault:
    vault: Vault = request.app.state.services.vault
    return vault


@router.get("", response_model=SlackDestinationList)
def list_destinations(request: Request, db: Db, key: Manager) -> dict[str, Any]:
    """The workspace's Slack destinations: names and hosts, never a URL in full."""
    found = destinations.listed(db, _vault(request), key.workspace_id)
    return {"data": [asdict(d) for d in found]}


@router.put("/{destination_name}", response_model=SlackDestination, status_code=200,
            responses={201: {"model": SlackDestination, "description": "A new destination"},
                       **documented(Unavailable)})  # fmt: skip
def put_destination(
    request: Request, response: Response, db: WriteDb, key: Manager,
    destination_name: DestinationName, new: NewSlackDestination,
) -> dict[str, Any]:  # fmt: skip
    """Add a destination (201) or give it a new webhook URL (200): kept encrypted as the
    secret `slack.<name>` (503 while NERVE_SECRET_KEY is unset; nothing is stored then)."""
    outbound = OutboundPolicy.configured(request.app.state.settings)
    info, new_one = destinations.put(
        db, _vault(request), outbound, key.workspace_id, destination_name,
        new.url.get_secret_value(), actor=key.key_id,
    )  # fmt: skip
    response.status_code = 201 if new_one else 200
    return asdict(info)


@router.get("/{destination_name}", response_model=SlackDestination)
def get_destination(
    request: Request, db: Db, key: Manager, destination_name: DestinationName
) -> dict[str, Any]:
    """One destination: its host and when its URL was set."""
    return asdict(destinations.find(db, _vault(request), key.workspace_id, destination_name))


@router.delete("/{destination_name}", status_code=204, responses=documented(NotFound))
def delete_destination(db: WriteDb, key: Manager, destination_name: DestinationName) -> Response:
    """Forget the destination's URL; steps of flows still naming it are dead-lettered."""
    destinations.remove(db, key.workspace_id, destination_name, actor=key.key_id)
    return Response(status_code=204)
