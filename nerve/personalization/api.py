"""`/api/v1/slots`: marketers' content and product-list slots — save versions (JSON or YAML,
as `nerve slots apply` reads them), read, delete, and the impressions per variant and arm."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Request, Response

from nerve.admin_routes import AdminRoute, read_body
from nerve.auth.api import requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.db.session import Db, WriteDb
from nerve.errors import (
    InvalidInput,
    InvalidJson,
    InvalidSlot,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    documented,
)
from nerve.personalization import impressions, slots
from nerve.personalization.definition import read
from nerve.personalization.schemas import SavedSlot, SlotDetail, SlotList, SlotStats

router = APIRouter(prefix="/api/v1/slots", tags=["slots"], route_class=AdminRoute)
Reader = Annotated[Principal, requires(Permission.SLOTS_READ)]
Writer = Annotated[Principal, requires(Permission.SLOTS_WRITE)]
# No length bounds on what only names a slot: too long to be one, it names none (404).
SlotKey = Annotated[str, Path(description="The slot's key (`home_banner`)")]

MAX_BYTES = 256 * 1024
JSON = "application/json"
YAML = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
EXAMPLE_SLOT = {
    "key": "home_banner",
    "name": "Home page banner",
    "default": "winter_jacket",
    "variants": [
        {"key": "winter_jacket", "content": {"title": "Winter is coming", "image": "/j.jpg"}},
        {"key": "running_shoes", "content": {"title": "New running shoes", "image": "/r.jpg"}},
    ],
    "rules": [
        {"name": "runners", "when": {"interest": {"key": "category:Running", "top": 3}},
         "variant": "running_shoes"},
    ],
}  # fmt: skip
_SCHEMA = {"type": "object", "description": "A slot definition (see docs/personalization.md)"}
_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A slot definition as JSON, or as YAML (what `nerve slots apply` reads)",
        "content": {
            JSON: {"schema": _SCHEMA, "example": EXAMPLE_SLOT},
            **{media: {"schema": _SCHEMA} for media in YAML},
        },
    }
}


async def _body(request: Request) -> tuple[bytes, str]:
    """The raw body and its media type; parsed once the caller is known to be allowed."""
    raw = await read_body(request, MAX_BYTES, "a slot definition")
    return raw, (request.headers.get("content-type") or JSON).split(";")[0].strip().lower()


def _data(raw: bytes, media: str) -> Any:
    if media == JSON or media.endswith("+json"):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InvalidJson(f"the body is not valid JSON: {exc}") from None
    if media not in YAML:
        raise UnsupportedMediaType(f"send the slot as {JSON} or {YAML[0]}, not {media}")
    try:
        return read(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidInput("a YAML body must be UTF-8") from None


@router.get("", response_model=SlotList)
def list_slots(db: Db, key: Reader) -> dict[str, Any]:
    return {"data": slots.listed(db, key.workspace_id)}


@router.post(
    "", status_code=201, response_model=SavedSlot, openapi_extra=_BODY,
    responses={200: {"description": "Unchanged: equal to the live version", "model": SavedSlot},
               **documented(InvalidSlot, PayloadTooLarge, UnsupportedMediaType)},
)  # fmt: skip
def save_slot(
    request: Request, body: Annotated[tuple[bytes, str], Depends(_body)], db: WriteDb,
    key: Writer, response: Response,
) -> dict[str, Any]:  # fmt: skip
    """Check the definition (every problem with its path) and save it as the live version
    (201); equal to the live version: nothing saved, `unchanged: true` (200). Heads see it
    within a few seconds (at once on this server)."""
    saved = slots.save(db, key.workspace_id, _data(*body), actor=key.key_id)
    request.app.state.slot_cache.forget(key.workspace_id)
    if saved.unchanged:
        response.status_code = 200
    return saved.__dict__


@router.get("/{slot_key}", response_model=SlotDetail, responses=documented(NotFound))
def get_slot(db: Db, key: Reader, slot_key: SlotKey) -> dict[str, Any]:
    """The live definition and every version."""
    return slots.detail(db, key.workspace_id, slot_key)


@router.delete("/{slot_key}", status_code=204, responses=documented(NotFound))
def delete_slot(request: Request, db: WriteDb, key: Writer, slot_key: SlotKey) -> Response:
    """Forget the slot: heads asking for it find it in `unknown_slots`. Its impressions stay
    for the statistics."""
    slots.remove(db, key.workspace_id, slot_key, actor=key.key_id)
    request.app.state.slot_cache.forget(key.workspace_id)
    return Response(status_code=204)


@router.get("/{slot_key}/stats", response_model=SlotStats, responses=documented(NotFound))
def slot_stats(db: Db, key: Reader, slot_key: SlotKey) -> dict[str, Any]:
    """Impressions per variant and experiment arm. They are written in batches: the last
    second's decisions may not be counted yet."""
    if not slots.exists(db, key.workspace_id, slot_key):
        raise NotFound(f"no slot {slot_key[:100]!r}")
    return {"key": slot_key, "data": impressions.stats(db, key.workspace_id, slot_key)}
