"""`/api/v1/products`, `/api/v1/inventory` and `/api/v1/catalog/quality`: bulk sync of the
catalog and its stock (NDJSON), reading products, and the catalog quality report."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request

from nerve.admin_routes import AdminRoute, read_body
from nerve.auth.api import requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.catalog import imports, lines, quality, service
from nerve.catalog.schemas import (
    InventoryChange,
    InventoryIn,
    ProductIn,
    ProductOut,
    ProductPage,
    QualityReport,
    Status,
    StockOut,
    SyncResult,
)
from nerve.db.session import Db, WriteDb
from nerve.errors import InvalidInput, NotFound, PayloadTooLarge, UnsupportedMediaType, documented

router = APIRouter(prefix="/api/v1", tags=["catalog"], route_class=AdminRoute)
Reader = Annotated[Principal, requires(Permission.CATALOG_READ)]
Writer = Annotated[Principal, requires(Permission.CATALOG_WRITE)]
Sku = Annotated[str, Path(min_length=1, max_length=255, description="The sku (a variant)")]
# Reading: a sku too long to be stored names no product (404), not a malformed request.
KnownSku = Annotated[str, Path(description="The sku (a variant)")]

# 100,000 products of ~600 bytes; larger catalogs go through `nerve catalog import`.
MAX_SYNC_BYTES = 64 * 1024 * 1024
NDJSON = ("application/x-ndjson", "application/ndjson", "application/jsonl", "text/plain")
JSON = "application/json"


def _lines_body(description: str, model: type[Any], example: str) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "description": description, "content": {
        "application/x-ndjson": {"schema": {"type": "string"}, "example": example},
        JSON: {"schema": {"type": "array", "items": schema}},
    }}}  # fmt: skip


_PRODUCTS_BODY = _lines_body(
    "One product (ProductIn) per line as NDJSON, or a JSON list of them. Each sku is replaced "
    "by its line (upsert by sku).",
    ProductIn,
    '{"sku": "TEE-RED-XL", "product_id": "TEE", "name": "Tee red XL", "price": "19.99", '
    '"currency": "EUR", "attributes": {"size": "XL", "color": "Red"}}\n',
)
_INVENTORY_BODY = _lines_body(
    "One stock change (InventoryIn) per line as NDJSON, or a JSON list of them; only the "
    "fields sent change.",
    InventoryIn,
    '{"sku": "TEE-RED-XL", "location": "berlin", "on_hand": 12, "minimum": 5}\n',
)


async def _body(request: Request) -> tuple[bytes, str]:
    media = (request.headers.get("content-type") or NDJSON[0]).split(";")[0].strip().lower()
    return await read_body(request, MAX_SYNC_BYTES, "a catalog sync"), media


Body = Annotated[tuple[bytes, str], Depends(_body)]


def _parsed(body: tuple[bytes, str], model: type[Any]) -> list[lines.Line[Any]]:
    content, media = body
    if media == JSON or media.endswith("+json"):
        try:
            items = orjson.loads(content)
        except orjson.JSONDecodeError as error:
            raise InvalidInput(f"the body is not JSON: {error}") from None
        if not isinstance(items, list):
            raise InvalidInput("a JSON body is a list of records")
        parsed = list(lines.json_items(model, items))
    elif media in NDJSON:
        parsed = list(lines.ndjson(model, content.splitlines()))
    else:
        raise UnsupportedMediaType(f"send NDJSON ({NDJSON[0]}) or {JSON}, not {media}")
    if not parsed:
        raise InvalidInput("the body holds no records")
    if all(line.record is None for line in parsed):
        raise InvalidInput("no line is valid", details=[
            {"line": line.number, "reason": line.reason} for line in parsed[:1000]
        ])  # fmt: skip
    return parsed


_SYNC_ERRORS = documented(PayloadTooLarge, UnsupportedMediaType)


@router.put("/products", response_model=SyncResult, openapi_extra=_PRODUCTS_BODY,
            responses=_SYNC_ERRORS)  # fmt: skip
def sync_products(db: WriteDb, key: Writer, body: Body) -> dict[str, Any]:
    """Create or replace products by sku. Good lines apply; each bad line is reported with
    its number and reason (400 when no line is valid). Emits the catalog events of what
    changed (product_published, price_changed, collection_published, product_incomplete)."""
    return imports.apply_lines(db, key.workspace_id, _parsed(body, ProductIn)).as_dict()


@router.patch("/inventory", response_model=SyncResult, openapi_extra=_INVENTORY_BODY,
              responses=_SYNC_ERRORS)  # fmt: skip
def sync_inventory(db: WriteDb, key: Writer, body: Body) -> dict[str, Any]:
    """Change stock of many skus and locations (location "default" unless given). Good lines
    apply; bad ones are reported with their numbers. Emits stock_below_minimum,
    out_of_stock and back_in_stock when the stock crosses them."""
    return imports.apply_lines(db, key.workspace_id, _parsed(body, InventoryIn)).as_dict()


@router.patch("/inventory/{sku}", response_model=StockOut)
def change_stock(db: WriteDb, key: Writer, sku: Sku, change: InventoryChange) -> dict[str, Any]:
    """Change one sku's stock at one location (default "default"): only the fields sent."""
    fields = change.model_dump(include=change.model_fields_set)
    service.update_inventory(db, key.workspace_id, [InventoryIn(sku=sku, **fields)])
    return service.stock_of(db, key.workspace_id, sku)


@router.get("/products/{sku}", response_model=ProductOut, responses=documented(NotFound))
def get_product(db: Db, key: Reader, sku: KnownSku) -> dict[str, Any]:
    """One sku with its stock per location."""
    return service.product(db, key.workspace_id, sku)


def _cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        after = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
        if "\x00" in after:
            raise ValueError(after)
        return after
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("invalid cursor", details={"cursor": cursor}) from None


@router.get("/products", response_model=ProductPage)
def list_products(
    db: Db,
    key: Reader,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> dict[str, Any]:
    """Products in sku order, a page at a time, with their stock."""
    after = _cursor(cursor) if cursor else None
    rows = service.products_page(db, key.workspace_id, after, limit, status)
    last = rows[-1]["sku"] if len(rows) == limit else None
    next_cursor = base64.urlsafe_b64encode(last.encode()).decode().rstrip("=") if last else None
    return {"data": rows, "next_cursor": next_cursor}


@router.get("/catalog/quality", response_model=QualityReport)
def catalog_quality(db: Db, key: Reader) -> dict[str, Any]:
    """Active and draft products missing an image, alt text, GTIN or category, and attribute
    values spelled several ways within a category ("XL", "xl", "X-Large")."""
    return quality.report(db, key.workspace_id)
