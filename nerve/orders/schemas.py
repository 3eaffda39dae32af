"""Shapes of orders: the facts a head or a shop reports, and the order as the API shows it.

Amounts are exact decimals (`Decimal`), written as JSON strings ("19.99") in every answer;
requests may send them as strings or numbers. At most four decimals, never NaN.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    PlainSerializer,
    model_validator,
)

from nerve.db.money import money

STATUSES = ("paid", "payment_failed", "cancelled", "refunded", "partly_refunded", "shipped",
            "delivered", "delayed")  # fmt: skip
StatusName = Literal["paid", "payment_failed", "cancelled", "refunded", "partly_refunded",
                     "shipped", "delivered", "delayed"]  # fmt: skip

_AMOUNT = 'An exact amount as a decimal string, e.g. "19.99" (requests may send a number)'


def _amount(value: Any) -> Any:
    return None if value is None else money(value)


def _utc(value: datetime) -> datetime:
    # A time without a zone is read as UTC (what shops' APIs mean by it).
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Amount = Annotated[Decimal, BeforeValidator(_amount)]
# An amount in an answer: a decimal string in every serialisation — also where an answer is
# written with the event payloads' serialiser (the profile export), which would make a
# Decimal a JSON number.
ShownAmount = Annotated[Decimal, PlainSerializer(str, return_type=str, when_used="always")]
UtcTime = Annotated[datetime, AfterValidator(_utc)]
_Id = Annotated[str, Field(min_length=1, max_length=255)]


class OrderLine(BaseModel):
    """A line item as the shop reports it; its total is price times quantity."""

    sku: _Id | None = None
    product_id: _Id | None = None
    name: str | None = Field(default=None, max_length=1000)
    quantity: int = Field(default=1, ge=0, le=1_000_000)
    price: Amount | None = Field(default=None, description=f"Unit price. {_AMOUNT}")


class OrderFacts(BaseModel):
    """What one head or shop knows about an order. Several reports of one order id merge into
    one order: a later report fills what earlier ones lacked, nothing is counted twice."""

    order_id: _Id
    user_id: _Id | None = None
    anonymous_id: _Id | None = None
    email: str | None = Field(default=None, min_length=3, max_length=320)
    phone: str | None = Field(default=None, min_length=3, max_length=64)
    currency: str | None = Field(
        default=None, pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code, e.g. EUR"
    )
    total: Amount | None = Field(default=None, description=_AMOUNT)
    subtotal: Amount | None = Field(default=None, description=_AMOUNT)
    tax: Amount | None = Field(default=None, description=_AMOUNT)
    shipping: Amount | None = Field(default=None, description=_AMOUNT)
    discount: Amount | None = Field(default=None, description=_AMOUNT)
    coupons: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(
        default_factory=list, max_length=100, description="Coupon codes used"
    )
    lines: list[OrderLine] = Field(default_factory=list, max_length=10_000)
    b2b: bool = Field(default=False, description="A B2B / wholesale order")
    preorder: bool = False
    placed_at: UtcTime = Field(default_factory=lambda: datetime.now(UTC))
    cart_id: _Id | None = Field(default=None, description="The cart the order came from")

    @model_validator(mode="after")
    def _someone(self) -> OrderFacts:
        if not (self.user_id or self.anonymous_id or self.email or self.phone):
            raise ValueError("an order needs its customer: user_id, anonymous_id, email or phone")
        if self.currency:
            self.currency = self.currency.upper()
        return self


class NewStatus(BaseModel):
    """A status of an order at a time, as the shop reports it (the order may come later)."""

    status: StatusName
    at: UtcTime = Field(default_factory=lambda: datetime.now(UTC))
    carrier: str | None = Field(default=None, max_length=255)
    tracking_number: str | None = Field(default=None, max_length=255)
    tracking_url: str | None = Field(default=None, max_length=2000)
    amount: Amount | None = Field(default=None, description=f"A refund's amount. {_AMOUNT}")
    reason: str | None = Field(default=None, max_length=1000)

    def detail(self) -> dict[str, Any]:
        found = self.model_dump(exclude={"status", "at"}, exclude_none=True, mode="json")
        return found


class LineRecord(BaseModel):
    sku: str | None
    product_id: str | None
    name: str | None
    quantity: int
    price: ShownAmount | None = Field(description=f"Unit price. {_AMOUNT}")
    line_total: ShownAmount | None = Field(description=f"Price times quantity. {_AMOUNT}")


class StatusRecord(BaseModel):
    status: str = Field(description=", ".join(STATUSES))
    at: datetime = Field(description="When it happened, as the shop reports it")
    source: str = Field(description="Who reported it: a head, a connector, the API")
    detail: dict[str, Any] = Field(
        description="carrier, tracking_number, tracking_url (shipped), amount (refunds), reason"
    )


class OrderRecord(BaseModel):
    """One order, merged from every head and shop that reported it."""

    order_id: str
    profile_id: str | None = Field(description="The person's profile; null until attached")
    status: str = Field(
        description="placed, or the latest status by time (ties: the later in the lifecycle)"
    )
    currency: str | None
    total: ShownAmount | None = Field(description=_AMOUNT)
    subtotal: ShownAmount | None = Field(description=_AMOUNT)
    tax: ShownAmount | None = Field(description=_AMOUNT)
    shipping: ShownAmount | None = Field(description=_AMOUNT)
    discount: ShownAmount | None = Field(description=_AMOUNT)
    coupons: list[str]
    b2b: bool
    preorder: bool
    cart_id: str | None
    placed_at: datetime
    sources: list[str] = Field(description="The heads and connectors that reported it")
    lines: list[LineRecord]
    statuses: list[StatusRecord] = Field(description="The status history, by time")


class OrderList(BaseModel):
    data: list[OrderRecord] = Field(description="The person's orders, newest first")


class RecordedOrder(BaseModel):
    created: bool = Field(description="false when the order id was known (the facts merged)")
    order: OrderRecord


class RecordedStatus(BaseModel):
    created: bool = Field(description="false when this status at this time was recorded before")
    order: OrderRecord | None = Field(description="null while the order itself is not known")
