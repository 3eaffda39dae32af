"""FastAPI dependencies: authenticate `Authorization: Bearer <secret key>` and check the role;
and the admin API of the keys themselves (`/api/v1/keys`, admin only).

Every admin route declares the one permission it needs where it is declared:

    def erase_profile(db: WriteDb, key: Annotated[Principal, requires(Permission.PROFILES_ERASE)])

The permission is an OpenAPI security scope of the route (OpenAPI 3.1 allows role names for
HTTP schemes), so `/openapi.json` says what each route needs, and a test walks every route with
every role.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from nerve.admin_routes import AdminRoute
from nerve.auth import service
from nerve.auth.roles import Permission, authorize
from nerve.auth.schemas import ApiKeyInfo, ApiKeyList, CreatedApiKey, NewApiKey
from nerve.auth.service import Principal, verify_key
from nerve.db.session import Db, WriteDb
from nerve.errors import Conflict, Unauthorized, documented

_bearer = HTTPBearer(auto_error=False, description="A secret key from `nerve keys create`")


def _authorized_key(
    scopes: SecurityScopes,
    db: Db,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise Unauthorized("send a secret key as `Authorization: Bearer <key>`")
    principal = verify_key(db, credentials.credentials)
    for permission in scopes.scopes:
        authorize(principal.role, permission)
    return principal


# Routes anyone may call (the flow JSON Schema, health): declared so, like a permission.
PUBLIC: dict[str, Any] = {"x-nerve-access": "public"}
# The tracking endpoints: a source's write key, not a secret key, so no role applies.
WRITE_KEY: dict[str, Any] = {"x-nerve-access": "write-key"}


def requires(permission: Permission) -> Any:
    """The dependency of a route that needs `permission`: the caller's key, authorized."""
    return Security(_authorized_key, scopes=[permission.value])


router = APIRouter(prefix="/api/v1/keys", tags=["keys"], route_class=AdminRoute)
KeyManager = Annotated[Principal, requires(Permission.KEYS_MANAGE)]


@router.get("", response_model=ApiKeyList)
def list_keys(db: Db, key: KeyManager) -> ApiKeyList:
    """The workspace's keys, revoked ones too; never their secrets."""
    keys = service.list_keys(db, key.workspace_id)
    return ApiKeyList(data=[ApiKeyInfo.model_validate(k, from_attributes=True) for k in keys])


@router.post("", response_model=CreatedApiKey, status_code=201)
def create_key(db: WriteDb, key: KeyManager, new: NewApiKey) -> CreatedApiKey:
    """A new secret key; the secret is in this answer only."""
    created = service.create_key(db, key.workspace_id, new.role, actor=key.key_id)
    return CreatedApiKey.model_validate(created, from_attributes=True)


@router.post("/{key_id}/revoke", response_model=ApiKeyInfo, responses=documented(Conflict))
def revoke_key(db: WriteDb, key: KeyManager, key_id: str) -> ApiKeyInfo:
    """Refuse the key from the next request on, in every process; 409 if already revoked."""
    revoked = service.revoke_key(db, key.workspace_id, key_id, actor=key.key_id)
    return ApiKeyInfo.model_validate(revoked, from_attributes=True)


@router.post("/{key_id}/rotate", response_model=CreatedApiKey, responses=documented(Conflict))
def rotate_key(db: WriteDb, key: KeyManager, key_id: str) -> CreatedApiKey:
    """A new key with the same role (its secret in this answer only); the old one is revoked."""
    created = service.rotate_key(db, key.workspace_id, key_id, actor=key.key_id)
    return CreatedApiKey.model_validate(created, from_attributes=True)
