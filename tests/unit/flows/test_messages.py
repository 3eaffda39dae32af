"""Every validation problem is a path a marketer can follow and a plain reason — never the
validator's vocabulary (union members, Python types, syntax-tree classes) — for the mistakes
we know of and for many we do not (generated)."""

from __future__ import annotations

import ast
import copy
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nerve.flows.definition import InvalidFlow, load, validate

VALID: dict[str, Any] = {
    "name": "abandoned_cart",
    "trigger": {"event": "Checkout Started", "key": "properties.cart_id", "reentry": "once"},
    "exit": [{"event": "Order Completed", "where": "properties.total > 0", "goal": True}],
    "nodes": [
        {"id": "pause", "wait": "2h"},
        {"id": "remind", "action": "webhook", "with": {"url": "http://127.0.0.1/r"}},
        {"id": "big", "branch": [{"when": "properties.total >= 100", "goto": "late"},
                                 {"else": True, "goto": "next"}]},
        {"id": "ab", "split": [{"percent": 50, "goto": "next"}, {"percent": 50, "goto": "end"}]},
        {"id": "late", "wait": {"until": "09:00", "timezone": "Europe/Berlin"}},
        {"id": "order", "wait_for_event": {"event": "Order Completed", "timeout": "1d"}},
    ],
}  # fmt: skip

# Syntax-tree classes whose names read as English are only leaks when capitalised as classes.
_AST_CLASSES = sorted(
    name
    for name in dir(ast)
    if isinstance(getattr(ast, name), type)
    and issubclass(getattr(ast, name), ast.AST)
    and name[0].isupper()
)
_LEAK = re.compile(
    "|".join(
        [
            r"literal\[", r"function-", r"model_type", r"dict_type", r"model_attributes",
            r"Input should", r"instance of", r"[Pp]ydantic", r"Value error", r"[A-Z][a-z]+Error",
            r"\b(?:str|int|float|dict|NoneType)\b", r"\b(?:WaitUntil|Reentry|Node|Trigger"
            r"|Exit|BranchCase|SplitPath|WaitForEvent|FlowDefinition)\b",
            r"\b(?:" + "|".join(_AST_CLASSES) + r")\b",
        ]
    )
)  # fmt: skip
# A path: `(flow)`, `(file)` or fields and positions, e.g. nodes[2].branch[0].when.
_PATH = re.compile(r"\((?:flow|file)\)|[a-z_]+(?:\[\d+\])*(?:\.[a-z_]+(?:\[\d+\])*)*")


def _problems(data: Any) -> list[dict[str, str]]:
    with pytest.raises(InvalidFlow) as caught:
        validate(data)
    return caught.value.problems


def _assert_plain(problems: list[dict[str, str]]) -> None:
    assert problems
    for problem in problems:
        assert set(problem) == {"path", "reason"}, problem
        assert _PATH.fullmatch(problem["path"]), problem
        assert problem["reason"] and not _LEAK.search(problem["reason"]), problem


def _with(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    flow = copy.deepcopy(VALID)
    target: Any = flow
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return flow


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("trigger", "reentry"), "twice",
         {"trigger.reentry": "must be once, once_per_key, always, or {every_days: N}"}),
        (("trigger", "reentry"), 30,
         {"trigger.reentry": "must be once, once_per_key, always, or {every_days: N}"}),
        (("trigger", "reentry"), {"every_days": 0}, {"trigger.reentry.every_days": "must be at least 1"}),
        (("nodes", 2, "branch", 0, "when"), "properties.total >> 2",
         {"nodes[2].branch[0].when": "the operator >> is not allowed; use and, or, not, ==, !=, "
                                     "<, <=, >, >=, in, not in, +, -, *, /"}),
        (("nodes", 1, "action"), "sms",
         {"nodes[1].action": "unknown action 'sms'; known actions: add_tag, send_email, send_push, send_sms, slack, update_profile, webhook"}),
        (("nodes", 0, "wait"), 2,
         {"nodes[0].wait": 'must be a duration (30s, 15m, 2h, 3d) or {until: "09:00"}'}),
        (("nodes", 4, "wait"), {"untl": "09:00"},
         {"nodes[4].wait.until": "is required",
          "nodes[4].wait.untl": "is not a field; allowed here: until, timezone"}),
        (("nodes", 1, "with"), ["url"], {"nodes[1].with": "must be a mapping (field: value), not a list"}),
        (("nodes", 3, "split", 0, "percent"), "half", {"nodes[3].split[0].percent": "must be a number, not text"}),
        (("name",), "Abandoned Cart",
         {"name": "must be snake_case: lowercase letters, digits and _, starting with a letter"}),
        (("exit",), {"event": "x"}, {"exit": "must be a list, not a mapping"}),
    ],
)  # fmt: skip
def test_known_mistakes_read_plainly(
    path: tuple[str | int, ...], value: Any, expected: dict[str, str]
) -> None:
    problems = _problems(_with(path, value))
    assert {p["path"]: p["reason"] for p in problems} == expected
    _assert_plain(problems)


def test_a_flow_that_is_not_a_mapping_says_what_a_flow_is() -> None:
    assert _problems([VALID]) == [
        {"path": "(flow)", "reason": "a flow is a mapping with name, trigger and nodes"}
    ]


# --- generated mistakes --------------------------------------------------------------------------

_FIELDS = [
    "name", "trigger", "exit", "nodes", "event", "where", "key", "reentry", "every_days", "id",
    "wait", "until", "timezone", "wait_for_event", "timeout", "on_event", "on_timeout", "branch",
    "when", "else", "goto", "split", "percent", "action", "with", "retries", "next", "goal", "type",
]  # fmt: skip
_LOWER = "abcdefghijklmnopqrstuvwxyz_"
_TEXT = st.text(alphabet=_LOWER + "0123456789 :.-/'\"[]{}()<>=!+*,&|^%@~", max_size=16)
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**40), 10**40), st.floats(), _TEXT,
    st.sampled_from(["once", "always", "2h", "09:00", "webhook", "end", "next", "pause"]),
)  # fmt: skip
_KEYS = st.one_of(st.sampled_from(_FIELDS), st.text(alphabet=_LOWER, min_size=1, max_size=8))
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=5)),
    max_leaves=12,
)
_PLACES: list[tuple[str | int, ...]] = [
    ("name",), ("trigger",), ("trigger", "event"), ("trigger", "where"), ("trigger", "reentry"),
    ("trigger", "key"), ("exit",), ("exit", 0), ("exit", 0, "goal"), ("nodes",), ("nodes", 0),
    ("nodes", 0, "wait"), ("nodes", 0, "id"), ("nodes", 1, "action"), ("nodes", 1, "with"),
    ("nodes", 1, "retries"), ("nodes", 1, "timeout"), ("nodes", 1, "next"), ("nodes", 2, "branch"),
    ("nodes", 2, "branch", 0), ("nodes", 2, "branch", 0, "goto"), ("nodes", 3, "split"),
    ("nodes", 3, "split", 1, "percent"), ("nodes", 4, "wait"), ("nodes", 4, "wait", "until"),
    ("nodes", 4, "wait", "timezone"), ("nodes", 5, "wait_for_event"),
    ("nodes", 5, "wait_for_event", "timeout"), ("nodes", 5, "wait_for_event", "on_event"),
    ("nodes", 0, "extra"), ("trigger", "extra"), ("extra",),
]  # fmt: skip
_GENERATED = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_GENERATED
@given(st.sampled_from(_PLACES), _VALUES)
def test_any_wrong_value_anywhere_reads_plainly(path: tuple[str | int, ...], value: Any) -> None:
    try:
        validate(_with(path, value))
    except InvalidFlow as exc:
        _assert_plain(exc.problems)


@_GENERATED
@given(_VALUES)
def test_any_shape_of_document_reads_plainly(document: Any) -> None:
    try:
        validate(document)
    except InvalidFlow as exc:
        _assert_plain(exc.problems)


_TOKENS = st.sampled_from(
    [
        "properties.total", "profile.traits.vip", "x", "run.visits.remind", "1", "2.5", "'a'",
        "true", "null", "[1, 2]", "(", ")", "[", "]", "{", "}", ":", ",", ".", "+", "-", "*",
        "/", "//", "%", "**", "@", ">>", "<<", "&", "|", "^", "~", "==", "!=", "<", "<=", ">",
        ">=", "in", "not", "and", "or", "is", "if", "else", "for", "lambda", ":=", "len(",
        "lower(", "exists(", "f'{x}'", "b'x'", "1j", "...", "x[1:2]", "_x", "x.__class__",
        "yield", "await", "*x", "print(", "=",
    ]
)  # fmt: skip


@_GENERATED
@given(st.lists(_TOKENS, min_size=1, max_size=8).map(" ".join))
def test_any_expression_mistake_reads_plainly(expression: str) -> None:
    for path in (("nodes", 2, "branch", 0, "when"), ("trigger", "where"), ("exit", 0, "where")):
        try:
            validate(_with(path, expression))
        except InvalidFlow as exc:
            _assert_plain(exc.problems)


@_GENERATED
@given(st.text(alphabet=_LOWER + " :-[]{}&*!|>'\"#\n\t", max_size=60))
def test_any_file_reads_plainly(text: str) -> None:
    try:
        load(text)
    except InvalidFlow as exc:
        assert exc.problems and all(not _LEAK.search(p["reason"]) for p in exc.problems)
