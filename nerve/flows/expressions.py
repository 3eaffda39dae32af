"""A small, safe expression language for flow conditions — parsed, never `eval`ed.

    properties.total >= 50 and profile.traits.vip == true
    event.properties.category in ["Running Shoes", "Trail Shoes"]
    not exists(profile.traits.email)

Python's own parser reads the text; only the node types below are interpreted, so nothing
can call, import or reach outside the data it is given.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_CONSTANTS = {"true": True, "false": False, "null": None}
_MISSING = object()
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: b is not None and a in b,
    ast.NotIn: lambda a, b: b is None or a not in b,
}
_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "exists": lambda value: value is not None,
    "lower": lambda value: value.lower() if isinstance(value, str) else value,
    "len": lambda value: len(value) if isinstance(value, str | list | dict) else 0,
}


class ExpressionError(ValueError):
    """An expression that cannot be parsed or uses something the language does not have."""


@dataclass(frozen=True)
class Expression:
    source: str
    tree: ast.expr

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        value = _evaluate(self.tree, scope)
        return None if value is _MISSING else value

    def test(self, scope: Mapping[str, Any]) -> bool:
        return bool(self.evaluate(scope))


def parse(source: str) -> Expression:
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse {source!r}: {exc.msg}") from None
    _check(tree)
    return Expression(source, tree)


def _check(node: ast.AST) -> None:
    allowed = (
        ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.Compare, ast.Name,
        ast.Attribute, ast.Constant, ast.List, ast.Tuple, ast.Subscript, ast.Load, ast.BinOp,
        ast.Call, *_COMPARE, *_ARITHMETIC,
    )  # fmt: skip
    for child in ast.walk(node):
        if not isinstance(child, allowed):
            raise ExpressionError(f"{type(child).__name__} is not allowed in an expression")
        if isinstance(child, ast.Call) and (
            not isinstance(child.func, ast.Name)
            or child.func.id not in _FUNCTIONS
            or child.keywords
        ):
            raise ExpressionError(f"only {', '.join(sorted(_FUNCTIONS))}(...) can be called")
        if isinstance(child, ast.Attribute) and child.attr.startswith("_"):
            raise ExpressionError("names starting with _ are not allowed")


def _lookup(container: Any, key: Any) -> Any:
    if isinstance(container, Mapping):
        return container.get(key, _MISSING)
    if (
        isinstance(container, list | tuple)
        and isinstance(key, int)
        and -len(container) <= key < len(container)
    ):
        return container[key]
    return _MISSING


def _evaluate(node: ast.expr, scope: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        return scope.get(node.id, _MISSING)
    if isinstance(node, ast.Attribute):
        return _lookup(_evaluate(node.value, scope), node.attr)
    if isinstance(node, ast.Subscript):
        return _lookup(_evaluate(node.value, scope), _evaluate(node.slice, scope))
    if isinstance(node, ast.List | ast.Tuple):
        return [_plain(_evaluate(item, scope)) for item in node.elts]
    if isinstance(node, ast.BoolOp):
        return _bool_op(node, scope)
    if isinstance(node, ast.UnaryOp):
        value = _plain(_evaluate(node.operand, scope))
        if isinstance(node.op, ast.Not):
            return not value
        return -value if isinstance(value, int | float) else None
    if isinstance(node, ast.Compare):
        return _compare(node, scope)
    if isinstance(node, ast.BinOp):
        left, right = _plain(_evaluate(node.left, scope)), _plain(_evaluate(node.right, scope))
        try:
            return _ARITHMETIC[type(node.op)](left, right)
        except (TypeError, ZeroDivisionError):
            return None
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        return _FUNCTIONS[node.func.id](*(_plain(_evaluate(a, scope)) for a in node.args))
    raise ExpressionError(type(node).__name__)  # unreachable after _check


def _plain(value: Any) -> Any:
    return None if value is _MISSING else value


def _bool_op(node: ast.BoolOp, scope: Mapping[str, Any]) -> Any:
    is_and = isinstance(node.op, ast.And)
    value: Any = is_and
    for operand in node.values:
        value = _plain(_evaluate(operand, scope))
        if bool(value) != is_and:
            return value
    return value


def _compare(node: ast.Compare, scope: Mapping[str, Any]) -> bool:
    left = _plain(_evaluate(node.left, scope))
    for op, comparator in zip(node.ops, node.comparators, strict=True):
        right = _plain(_evaluate(comparator, scope))
        try:
            if not _COMPARE[type(op)](left, right):
                return False
        except TypeError:  # e.g. None < 3: a missing value satisfies no ordering
            return False
        left = right
    return True
