"""What a shop sends about its products and stock, and what the catalog answers.

Amounts are exact: pydantic `Decimal` fields, read with `nerve.db.money.money` (a string such as
"19.99", an int, or a float written the short way) and written in JSON as strings ("19.99").
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from nerve.db.money import money

MONEY_NOTE = 'An exact amount, written as a string in answers ("19.99"); sent as a string or number'
# The common case, an amount written plainly ("19.99"), is exact as Decimal reads it and within
# bounds: read directly (money() checks the rest; measured: it was a fifth of a bulk import).
_PLAIN_AMOUNT = re.compile(r"-?[0-9]{1,14}(\.[0-9]{1,4})?")


def _amount(value: Any) -> Decimal:
    if isinstance(value, str) and _PLAIN_AMOUNT.fullmatch(value):
        return Decimal(value)
    return money(value)


Amount = Annotated[Decimal, BeforeValidator(_amount)]
Status = Literal["active", "draft", "archived"]
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_GTIN = re.compile(r"^(\d{8}|\d{12}|\d{13}|\d{14})$")
CATEGORY_SEPARATOR = " > "


def _currency(value: Any) -> Any:
    if isinstance(value, str) and _CURRENCY.match(value.upper()):
        return value.upper()
    if value is None:
        return None
    raise ValueError("not an ISO 4217 currency code (three letters, e.g. EUR)")


Currency = Annotated[str, BeforeValidator(_currency)]


class ProductIn(BaseModel):
    """One sku as it is now (a bulk sync replaces the whole record: fields left out are
    cleared). `product_id` groups the variants of one product; it defaults to the sku."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku: str = Field(min_length=1, max_length=255, examples=["TEE-RED-XL"])
    product_id: str | None = Field(default=None, min_length=1, max_length=255)
    gtin: str | None = Field(default=None, description="GTIN-8, -12 (UPC), -13 (EAN) or -14")
    name: str = Field(min_length=1, max_length=1000)
    brand: str | None = Field(default=None, max_length=255)
    category: str | None = Field(
        default=None,
        max_length=1000,
        description='The category path, root first: "Apparel > Shirts" or a list of levels',
    )
    price: Amount = Field(description=MONEY_NOTE)
    currency: Currency = Field(description="ISO 4217, e.g. EUR")
    compare_at_price: Amount | None = Field(default=None, description=MONEY_NOTE)
    cost: Amount | None = Field(default=None, description=MONEY_NOTE + "; for margins")
    url: str | None = Field(default=None, max_length=2000)
    image_url: str | None = Field(default=None, max_length=2000)
    image_alt: str | None = Field(default=None, max_length=2000)
    status: Status = "active"
    tags: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(default_factory=list)
    collections: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(
        default_factory=list
    )
    attributes: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description='Variant attributes: {"size": "XL", "color": "Red"}'
    )
    usage_days: int | None = Field(
        default=None, ge=1, le=3650, description="A consumable's usage period in days"
    )

    @field_validator("category", mode="before")
    @classmethod
    def _category_path(cls, value: Any) -> Any:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return CATEGORY_SEPARATOR.join(v.strip() for v in value if v.strip()) or None
        return value

    @field_validator("gtin", mode="before")
    @classmethod
    def _gtin(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and not _GTIN.match(value.strip()):
            raise ValueError("a GTIN has 8, 12, 13 or 14 digits")
        return value

    @field_validator("gtin", "brand", "category", "url", "image_url", "image_alt")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None


class InventoryIn(BaseModel):
    """A change to the stock of a sku at a location: only the fields sent change. A new row
    starts with nothing on hand and nothing reserved."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku: str = Field(min_length=1, max_length=255)
    location: str = Field(default="default", min_length=1, max_length=255)
    # Not nullable: a change that leaves them out keeps them (only the fields sent change).
    on_hand: int = Field(default=0, ge=-1_000_000_000, le=1_000_000_000)
    reserved: int = Field(default=0, ge=0, le=1_000_000_000)
    minimum: int | None = Field(
        default=None, ge=0, le=1_000_000_000, description="Minimum stock; null: none"
    )
    lead_time_days: int | None = Field(default=None, ge=0, le=3650)
    supplier: str | None = Field(default=None, max_length=255)
    supplier_price: Amount | None = Field(default=None, description=MONEY_NOTE)
    supplier_currency: Currency | None = None


class InventoryChange(BaseModel):
    """`PATCH /api/v1/inventory/{sku}`: the sku is in the path."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    location: str = Field(default="default", min_length=1, max_length=255)
    # Not nullable: a change that leaves them out keeps them (only the fields sent change).
    on_hand: int = Field(default=0, ge=-1_000_000_000, le=1_000_000_000)
    reserved: int = Field(default=0, ge=0, le=1_000_000_000)
    minimum: int | None = Field(default=None, ge=0, le=1_000_000_000)
    lead_time_days: int | None = Field(default=None, ge=0, le=3650)
    supplier: str | None = Field(default=None, max_length=255)
    supplier_price: Amount | None = Field(default=None, description=MONEY_NOTE)
    supplier_currency: Currency | None = None


class LineProblem(BaseModel):
    line: int = Field(description="1-based line number in the body or file")
    reason: str


class SyncResult(BaseModel):
    applied: int = Field(description="Lines taken (a line equal to what is stored counts too)")
    changed: int = Field(description="Rows that differed from what was stored and were written")
    failed: list[LineProblem] = Field(description="Each bad line with why; the others applied")
    events: int = Field(description="Catalog events emitted (price_changed, out_of_stock, ...)")


class StockLevel(BaseModel):
    location: str
    on_hand: int
    reserved: int
    available: int = Field(description="on_hand - reserved")
    minimum: int | None
    lead_time_days: int | None
    supplier: str | None
    supplier_price: Decimal | None = Field(description=MONEY_NOTE)
    supplier_currency: str | None


class ProductOut(BaseModel):
    sku: str
    product_id: str
    gtin: str | None
    name: str
    brand: str | None
    category: str | None
    price: Decimal = Field(description=MONEY_NOTE)
    currency: str
    compare_at_price: Decimal | None = Field(description=MONEY_NOTE)
    cost: Decimal | None = Field(description=MONEY_NOTE)
    url: str | None
    image_url: str | None
    image_alt: str | None
    status: Status
    tags: list[str]
    collections: list[str]
    attributes: dict[str, str | int | float | bool]
    usage_days: int | None
    available: int | None = Field(description="Sum over locations; null without stock rows")
    inventory: list[StockLevel]


class ProductPage(BaseModel):
    data: list[ProductOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


class StockOut(BaseModel):
    sku: str
    available: int | None = Field(description="Sum over locations; null without stock rows")
    inventory: list[StockLevel]


class MissingCount(BaseModel):
    image: int
    image_alt: int
    gtin: int
    category: int


class SpellingProblem(BaseModel):
    category: str | None
    attribute: str
    spellings: dict[str, int] = Field(description="Each spelling with how many skus use it")
    suggested: str = Field(description="The most used spelling")


class QualityReport(BaseModel):
    products: int = Field(description="Active and draft products checked")
    missing: MissingCount
    missing_skus: dict[str, list[str]] = Field(
        description="Per check (image, image_alt, gtin, category) the first 100 skus failing it"
    )
    inconsistent_attributes: list[SpellingProblem]
