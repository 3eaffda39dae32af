"""FastAPI dependencies: authenticate `Authorization: Bearer <secret key>` and check the role.

Every admin route declares the one permission it needs where it is declared:

    def erase_profile(db: WriteDb, key: Annotated[Principal, requires(Permission.PROFILES_ERASE)])

The permission is an OpenAPI security scope of the route (OpenAPI 3.1 allows role names for
HTTP schemes), so `/openapi.json` says what each route needs, and a test walks every route with
every role.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from nerve.auth.roles import Permission, authorize
from nerve.auth.service import Principal, verify_key
from nerve.db.session import Db
from nerve.errors import Unauthorized

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
