"""JSON numbers keep their exact value through parse and serialise."""

from __future__ import annotations

from decimal import Decimal

import orjson
from hypothesis import given
from hypothesis import strategies as st

from nerve import numbers
from tests.exact import exact_values

BIG = 123456789012345678901234567890


def test_numbers_a_float_cannot_hold_come_back_exactly() -> None:
    text = b'{"order": 123456789012345678901234567890, "price": 0.12345678901234567890,'
    text += b' "tiny": 1e-400, "huge": -1.5e400, "max": 18446744073709551616}'
    parsed = numbers.loads(text)
    assert parsed["order"] == BIG
    assert parsed["price"] == Decimal("0.12345678901234567890")
    assert parsed["tiny"] == Decimal("1e-400")
    assert numbers.loads(numbers.dumps(parsed)) == parsed
    assert b"0.12345678901234567890" in numbers.dumps(parsed)
    assert b"123456789012345678901234567890" in numbers.dumps(parsed)


def test_numbers_a_float_holds_stay_floats() -> None:
    parsed = numbers.loads(b'{"price": 19.99, "exp": 1.5e3, "big": 1234567890123456.0}')
    assert parsed == {"price": 19.99, "exp": 1500.0, "big": 1234567890123456.0}
    assert all(type(value) is float for value in parsed.values())


def test_digits_inside_strings_do_not_change_anything() -> None:
    text = b'{"phone": "+49 1511 2345678901234", "id": "9e5d-1e5"}'
    assert numbers.loads(text) == orjson.loads(text)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.decimals(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)  # fmt: skip


@given(_json)
def test_any_value_survives_a_round_trip(value: object) -> None:
    assert exact_values(numbers.loads(numbers.dumps(value))) == exact_values(value)
