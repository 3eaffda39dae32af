"""Request and response shapes of the cart API (`/api/v1/carts…`, `/v1/cart/…`).

Amounts are exact decimals written as JSON strings ("19.99"), each beside its currency — never
a float, so no head rounds a price differently from the shop.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nerve.db.money import MoneyError, money

MAX_QUANTITY = 10_000
_AMOUNT = 'An exact amount as a string, e.g. "19.99" (up to 4 decimals), in `currency`'


class CartLineIn(BaseModel):
    """One line a head, the shop's backend or a shop's checkout puts in a cart."""

    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=255, examples=["RUN-1-42"])
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY)
    price: Decimal | None = Field(
        default=None,
        description=f"{_AMOUNT}. Taken only for a sku the catalog does not know (a shop "
        "without a catalog sync): a known sku gets the catalog's price",
    )
    currency: str | None = Field(default=None, min_length=3, max_length=8, examples=["EUR"])
    name: str | None = Field(default=None, max_length=500)
    product_id: str | None = Field(default=None, max_length=255)

    @field_validator("price", mode="before")
    @classmethod
    def _exact(cls, value: object) -> Decimal | None:
        if value is None:
            return None
        try:
            return money(value)
        except MoneyError as exc:
            raise ValueError(str(exc)) from None


class NewCart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identifier: str = Field(
        min_length=3, max_length=300,
        description="Whose cart: `TYPE:VALUE` — `anonymous_id:…` (a device), `user_id:…`, "
        "`email:…`; it need not be known to Nerve yet",
        examples=["anonymous_id:4f1c2e"],
    )  # fmt: skip


class QuantityChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: int = Field(
        ge=0, le=MAX_QUANTITY, description="The line's new quantity; 0 removes it"
    )


Flag = Literal["sold_out", "inactive", "price_changed"]


class CartLineOut(BaseModel):
    sku: str
    quantity: int
    product_id: str | None
    name: str | None = Field(description="The name when the line was added")
    price: Decimal | None = Field(description=f"{_AMOUNT}: the price when the line was added")
    currency: str | None
    added_at: datetime
    flags: list[Flag] = Field(
        description="What changed since it was added, for the head to show: `sold_out` (none "
        "available), `inactive` (draft, archived or unknown to the catalog), `price_changed`"
    )
    catalog_status: Literal["active", "draft", "archived", "unknown"] = Field(
        description="The product's status in the catalog now; `unknown`: no such sku there"
    )
    current_price: Decimal | None = Field(
        description=f"{_AMOUNT}: the catalog's price now (null for an unknown sku)"
    )
    current_currency: str | None
    available: int | None = Field(
        description="How many the catalog says are available now; null when it does not count"
    )


class CartOut(BaseModel):
    id: str
    status: Literal["open", "merged", "ordered"] = Field(
        description="`merged`: merged into another cart on login (the answer shows that one); "
        "`ordered`: closed by an order"
    )
    identifier: str = Field(description="The identifier it was opened under, `TYPE:VALUE`")
    token: str = Field(
        description="Opaque, signed: a head sends it with its write key to `/v1/cart/{token}`"
    )
    lines: list[CartLineOut]
    item_count: int = Field(description="Sum of the quantities")
    subtotal: Decimal | None = Field(
        description=f"{_AMOUNT}: the lines at their snapshot prices; null when the lines are "
        "in several currencies or a price is unknown"
    )
    currency: str | None
    external_id: str | None = Field(description="The shop's own id (a synced checkout)")
    order_id: str | None
    created_at: datetime
    updated_at: datetime


class ResumeLink(BaseModel):
    url: str = Field(description="`{NERVE_PUBLIC_URL}/r/{token}`: restores this cart anywhere")
    expires_at: datetime


class ExportedCartLine(BaseModel):
    sku: str
    quantity: int
    name: str | None
    price: str | None = Field(description="Decimal string, in `currency`")
    currency: str | None
    added_at: datetime


class ExportedCart(BaseModel):
    """A cart of the person's, in their data export."""

    id: str
    status: str
    identifier: str = Field(description="Whose cart it was: TYPE:VALUE")
    order_id: str | None
    created_at: datetime
    updated_at: datetime
    lines: list[ExportedCartLine]
    merges: list[dict[str, object]] = Field(description="Merges of this cart with another")
