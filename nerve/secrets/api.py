"""`/api/v1/secrets`: write-only storage of the shop's credentials (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from starlette.responses import Response

from nerve.admin_routes import AdminRoute
from nerve.auth.api import requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.db.session import Db, WriteDb
from nerve.errors import NotFound, Unavailable, documented
from nerve.secrets import service
from nerve.secrets.schemas import NewSecret, SecretInfo, SecretList

router = APIRouter(prefix="/api/v1/secrets", tags=["secrets"], route_class=AdminRoute)
Manager = Annotated[Principal, requires(Permission.SECRETS_MANAGE)]


@router.get("", response_model=SecretList)
def list_secrets(db: Db, key: Manager) -> SecretList:
    """The names of the workspace's secrets and when each was set; never a value."""
    return SecretList(
        data=[
            SecretInfo.model_validate(s, from_attributes=True)
            for s in service.listed(db, key.workspace_id)
        ]
    )


@router.put("/{secret_name}", response_model=SecretInfo, responses=documented(Unavailable))
def put_secret(
    request: Request, db: WriteDb, key: Manager, secret_name: str, new: NewSecret
) -> SecretInfo:
    """Store or replace a secret, encrypted with NERVE_SECRET_KEY (503 while it is unset)."""
    vault = request.app.state.services.vault
    stored = service.put(
        db, vault, key.workspace_id, secret_name, new.value.get_secret_value(), actor=key.key_id
    )
    return SecretInfo.model_validate(stored, from_attributes=True)


@router.delete("/{secret_name}", status_code=204, responses=documented(NotFound))
def delete_secret(db: WriteDb, key: Manager, secret_name: str) -> Response:
    """Forget a secret."""
    service.remove(db, key.workspace_id, secret_name, actor=key.key_id)
    return Response(status_code=204)
