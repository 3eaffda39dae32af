"""The flow condition language: useful operators, missing values, and nothing dangerous."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nerve.flows import limits
from nerve.flows.expressions import EvaluationError, ExpressionError, parse

SCOPE: dict[str, Any] = {
    "properties": {"total": 120.5, "category": "Running Shoes", "items": [{"sku": "A"}]},
    "profile": {
        "traits": {"vip": True, "email": "anna@example.com"},
        "computed": {"order_count": 0},
    },
    "trigger": {"properties": {"cart_id": "c-1"}},
    "event": {"properties": {"cart_id": "c-1"}},
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("properties.total > 100", True),
        ("properties.total >= 50 and profile.traits.vip == true", True),
        ("properties.category in ['Running Shoes', 'Trail Shoes']", True),
        ("event.properties.cart_id == trigger.properties.cart_id", True),
        ("profile.computed.order_count > 0 or not profile.traits.vip", False),
        ("exists(profile.traits.phone)", False),
        ("not exists(profile.traits.phone)", True),
        ("properties.missing > 3", False),  # a missing value satisfies no ordering
        ("properties.missing == null", True),
        ("properties.items[0].sku == 'A'", True),
        ("properties.total * 2 > 240", True),
        ("lower(profile.traits.email) == 'anna@example.com'", True),
        ("1 < properties.total < 200", True),
    ],
)
def test_expressions_evaluate(source: str, expected: bool) -> None:
    assert parse(source).test(SCOPE) is expected


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os').system('true')",
        "properties.__class__",
        "open('/etc/passwd')",
        "[x for x in properties]",
        "lambda: 1",
        "properties.total if true else 0",
        "properties.total >",
        "exists(x=1)",
    ],
)
def test_anything_outside_the_language_is_refused(source: str) -> None:
    with pytest.raises(ExpressionError):
        parse(source)


# --- bounded: no condition can exhaust memory or hang a worker ---------------------------------


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ('len("x" * 100000 * 100000)', "the text would be longer than 65,536 characters"),
        ("'ab' * 40000 == properties.category", "the text would be longer than 65,536 characters"),
        ("len([1] * 20000) > 0", "the list would have more than 10,000 items"),
        ("[[1] * 200] * 200 == properties.items", "the list would have more than 10,000 items"),
        ("properties.total > 1000000000000000 * 1000000000000000 * 1000",
         "a number would have more than 30 digits"),
        ("properties.total > 1234567890123456789012345678901", "a number would have more than 30 digits"),
        ("not " * 60 + "true", "the expression nests more than 50 levels deep; split it over several branches"),
        ("properties.total > 0 or " * 100 + "true", "an expression can be at most 2,000 characters"),
        ("len()", "len(...) takes exactly one value, e.g. len(properties.sku)"),
        ("exists(a, b)", "exists(...) takes exactly one value, e.g. exists(properties.sku)"),
    ],
)  # fmt: skip
def test_what_can_only_exceed_the_limits_is_refused_when_the_flow_is_checked(
    source: str, reason: str
) -> None:
    with pytest.raises(ExpressionError) as refused:
        parse(source)
    assert str(refused.value) == reason


@pytest.mark.parametrize(
    ("source", "properties", "reason"),
    [
        ("properties.word * properties.times", {"word": "spam", "times": 10**9},
         "the text would be longer than 65,536 characters"),
        ("properties.times * properties.word", {"word": "spam", "times": 10**12},
         "the text would be longer than 65,536 characters"),
        ("properties.word + properties.word", {"word": "x" * 40_000},
         "the text would be longer than 65,536 characters"),
        ("properties.items * properties.times", {"items": [1, 2], "times": 10**8},
         "the list would have more than 10,000 items"),
        ("[properties.items] * 100", {"items": list(range(500))},
         "the list would have more than 10,000 items"),
        ("properties.n * properties.n * properties.n", {"n": 10**12},
         "a number would have more than 30 digits"),
        ("properties.n / 3", {"n": 10**400}, "a number would be too large"),
        ("properties.sku in properties.skus", {"sku": "A", "skus": ["B"] * 200_000},
         "the condition takes more than 100,000 steps to evaluate"),
    ],
)  # fmt: skip
def test_a_value_that_would_grow_beyond_the_limits_fails_evaluation_cleanly(
    source: str, properties: dict[str, Any], reason: str
) -> None:
    expression = parse(source)  # nothing to see before the event comes
    with pytest.raises(EvaluationError) as failed:
        expression.evaluate({"properties": properties})
    assert str(failed.value) == reason


def test_within_the_limits_arithmetic_works_as_before() -> None:
    scope = {"properties": {"word": "ab", "times": 3, "items": [1], "n": 10**12}}
    assert parse("properties.word * properties.times").evaluate(scope) == "ababab"
    assert parse("properties.times * properties.word").evaluate(scope) == "ababab"
    assert parse("properties.items * 3 + [2]").evaluate(scope) == [1, 1, 1, 2]
    assert parse("properties.n * properties.n").evaluate(scope) == 10**24
    assert parse("properties.word - 1").evaluate(scope) is None  # makes no sense: as missing
    assert parse("properties.times / 0").evaluate(scope) is None


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("properties.total >> 2", "the operator >> is not allowed"),
        ("properties.total // 2 > 1", "the operator // is not allowed"),
        ("properties.total ** 2 > 1", "the operator ** is not allowed"),
        ("~properties.total", "the operator ~ is not allowed"),
        ("properties.x is null", "the operator `is` is not allowed"),
        ("properties.total if true else 0", "`a if b else c` is not allowed; use a branch node"),
        ("{'a': 1} == properties", "mappings ({key: value}) are not allowed"),
        ("properties.items[0:2]", "slices ([a:b]) are not allowed"),
        ("f'{properties.x}' == 'a'", "f-strings are not allowed"),
        ("properties.x.lower()", "only exists(x), lower(x) and len(x) can be called"),
    ],
)
def test_refusals_name_what_the_author_wrote(source: str, reason: str) -> None:
    with pytest.raises(ExpressionError) as refused:
        parse(source)
    assert str(refused.value).startswith(reason)


_NUMBERS = st.one_of(
    st.integers(-(10**40), 10**40), st.floats(allow_nan=False), st.sampled_from([0, 1, -1, 10**6])
)
_ATOMS = st.one_of(
    _NUMBERS.map(repr),
    st.sampled_from(["'ab'", "'x' * 1000", "[1, 2, 3]", "[]", "properties.word", "properties.n",
                     "properties.items", "properties.big", "true", "null", "len(properties.word)"]),
)  # fmt: skip


def _combine(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    operators = st.sampled_from(["+", "-", "*", "/", "==", "<", "in", "and", "or"])
    return st.one_of(
        st.tuples(inner, operators, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.lists(inner, max_size=3).map(lambda items: f"[{', '.join(items)}]"),
        inner.map(lambda item: f"len({item})"),
    )


@settings(max_examples=300, deadline=2000)  # milliseconds: a hang fails, a slow machine does not
@given(st.recursive(_ATOMS, _combine, max_leaves=16))
def test_whatever_is_multiplied_nothing_grows_beyond_the_limits(source: str) -> None:
    scope = {"properties": {"word": "spam", "n": 10**15, "items": list(range(100)),
                            "big": ["x" * 1000] * 60}}  # fmt: skip
    try:
        value = parse(source).evaluate(scope)
    except (ExpressionError, EvaluationError):
        return
    if isinstance(value, str):
        assert len(value) <= limits.MAX_TEXT
    elif isinstance(value, list):
        assert len(value) <= limits.MAX_ITEMS
    elif isinstance(value, int):
        assert abs(value) < 10**limits.MAX_DIGITS
