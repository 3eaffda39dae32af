"""JSON whose numbers keep their exact value: a 30-digit order number or a price with 20
decimals comes back as it was sent, as money must.

orjson (the fast path everywhere) reads every number that does not fit 64 bits, and every
decimal with more digits than a float holds, as the nearest float: `1e-400` becomes 0.0. Such
numbers are rare, so the fast path stays and a cheap scan of the text decides when to read it
again exactly: numbers a float holds stay floats, the others become `Decimal` (an integer beyond
64 bits stays a Python `int`). `dumps` writes both back as the numbers they were.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson


def _shapes_table() -> bytes:
    """Bytes to the shape of what they could be part of: `0` digit or dot, `e` exponent, `-`
    sign, `:` what precedes a value (`:`, `,`, `[`), `"` a string's quote, `x` anything else."""
    table = bytearray(b"x" * 256)
    for char in b"0123456789.":
        table[char] = ord("0")
    table[ord("e")] = table[ord("E")] = ord("e")
    table[ord("-")] = table[ord("+")] = ord("-")
    table[ord(":")] = table[ord(",")] = table[ord("[")] = ord(":")
    table[ord('"')] = ord('"')
    return bytes(table)


_SHAPES = _shapes_table()
_WHITESPACE = b" \t\r\n"
_INT64 = (-(2**63), 2**64 - 1)


def _number(text: str) -> float | Decimal:
    exact = Decimal(text)
    nearest = float(text)
    if nearest in (float("inf"), float("-inf")):
        return exact
    return nearest if exact == Decimal(repr(nearest)) else exact


def _integer(text: str) -> int:
    return int(text)


def _maybe_inexact(raw: bytes) -> bool:
    """Could a number in this JSON lose digits as a float? Only one with 16 or more digits and
    dots, or with an exponent below -99 can: found in two C-speed passes over the text's shapes.
    Text inside strings can look like that too; that only costs an exact re-read."""
    shapes = raw.translate(_SHAPES, _WHITESPACE)
    if b"0" * 16 in shapes:
        return True
    exponent = shapes.find(b"e-000")
    while exponent != -1:
        start = exponent - 1
        while start >= 0 and shapes[start] in b"0-":
            start -= 1
        if start < 0 or shapes[start] == ord(":"):  # a number, not a word in a string
            return True
        exponent = shapes.find(b"e-000", exponent + 1)
    return False


def _exact(raw: bytes) -> Any:
    def refuse(constant: str) -> None:
        raise orjson.JSONDecodeError(f"{constant} is not JSON", raw.decode(errors="replace"), 0)

    return json.loads(raw, parse_float=_number, parse_int=_integer, parse_constant=refuse)


def loads(text: str | bytes) -> Any:
    """Parse JSON; numbers a float cannot hold exactly come back as `Decimal` or big `int`.

    orjson judges the syntax (its errors are the ones users see everywhere); Python's own
    parser, with exact number hooks, reads again the rare text that needs it."""
    raw = text.encode() if isinstance(text, str) else text
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "infinity" not in str(exc):
            raise
        return _exact(raw)  # a number beyond a float's range (1e400): a Decimal
    return _exact(raw) if _maybe_inexact(raw) else value


def _fragment(value: Any) -> orjson.Fragment:
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(str(value).encode())
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def _big_ints_as_decimals(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _big_ints_as_decimals(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_big_ints_as_decimals(item) for item in value]
    big = isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]
    return Decimal(value) if big else value


def dumps(value: Any, option: int | None = None) -> bytes:
    """Serialise with orjson; `Decimal` and integers beyond 64 bits are written exactly."""
    try:
        return orjson.dumps(value, default=_fragment, option=option)
    except TypeError as exc:
        if "64-bit" not in str(exc):
            raise
    return orjson.dumps(_big_ints_as_decimals(value), default=_fragment, option=option)
