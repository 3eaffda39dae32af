"""FastAPI dependency that authenticates `Authorization: Bearer <secret key>`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from nerve.auth.service import Principal, verify_key
from nerve.db.session import Db
from nerve.errors import Unauthorized

_bearer = HTTPBearer(auto_error=False, description="A secret key from `nerve keys create`")


def _current_key(
    request: Request,
    db: Db,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise Unauthorized("send a secret key as `Authorization: Bearer <key>`")
    return verify_key(db, credentials.credentials)


CurrentKey = Annotated[Principal, Depends(_current_key)]
