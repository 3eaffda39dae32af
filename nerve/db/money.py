"""Money columns: exact decimal amounts, never floats.

An amount is stored as a whole number of ten-thousandths (BIGINT on both databases), so sums
and comparisons in SQL stay exact and both dialects behave alike (SQLite has no decimal type:
SQLAlchemy's Numeric goes through a float there). Four decimals hold every ISO 4217 currency's
minor unit (at most three: BHD, KWD) and the prices per unit shops quote with a fourth. The
currency is a column of its own beside each amount.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

SCALE = 4
_UNIT = Decimal(1).scaleb(-SCALE)  # 0.0001
# What a signed 64-bit column holds, in money: 922 trillion.
LARGEST = Decimal(2**63 - 1).scaleb(-SCALE)


class MoneyError(ValueError):
    """An amount that is not exact money: NaN, infinite, too large, or finer than 0.0001."""


def money(value: Any) -> Decimal:
    """An exact amount from what a head or shop sends: a Decimal, an int, a string such as
    "19.99", or a float written the short way (19.99, not 19.989999…). Refuses what money
    cannot be with `MoneyError`."""
    if isinstance(value, bool) or value is None:
        raise MoneyError(f"{value!r} is not an amount")
    if isinstance(value, float):
        value = repr(value)  # the shortest text that reads back as this float: "19.99"
    try:
        amount = Decimal(value) if not isinstance(value, Decimal) else value
    except (InvalidOperation, TypeError, ValueError):
        raise MoneyError(f"{value!r} is not an amount") from None
    if not amount.is_finite():
        raise MoneyError(f"{value!r} is not an amount")
    if abs(amount) > LARGEST:
        raise MoneyError(f"{value!r} is too large an amount")
    if amount != amount.quantize(_UNIT, rounding="ROUND_HALF_EVEN"):
        raise MoneyError(f"{value!r} has more than {SCALE} decimals")
    # "1E+2" is 100, written as such; "19.90" keeps the decimals it was sent with.
    return amount.quantize(Decimal(1)) if amount.as_tuple().exponent > 0 else amount  # type: ignore[operator]


def as_units(amount: Decimal) -> int:
    return int(money(amount).scaleb(SCALE))


def from_units(units: int) -> Decimal:
    """Back from ten-thousandths, with at least two decimals ("19.90", "5.00", "0.0125")."""
    amount = Decimal(units).scaleb(-SCALE)
    cents = amount.quantize(Decimal("0.01"))
    return cents if cents == amount else amount.normalize()


class Money(TypeDecorator[Decimal]):
    """A Decimal amount kept as ten-thousandths in a BIGINT (see the module docstring)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else as_units(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else from_units(int(value))


def summed(expression: ColumnElement[Any]) -> ColumnElement[Decimal]:
    """`func.sum(...)` over a Money column, read back as money (SUM loses the column's type)."""
    return type_coerce(expression, Money())
