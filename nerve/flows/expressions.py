"""A small, safe expression language for flow conditions — parsed, never `eval`ed.

    properties.total >= 50 and profile.traits.vip == true
    event.properties.category in ["Running Shoes", "Trail Shoes"]
    not exists(profile.traits.email)

Python's own parser reads the text; only the constructs below are interpreted, so nothing
can call, import or reach outside the data it is given. What it builds is bounded too (see
`nerve.flows.limits`): `"x" * 100000 * 100000` is refused when the flow is validated, and a
value that would grow too large while a run is decided fails that step with a clear error.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from nerve.flows import limits
from nerve.flows.limits import EvaluationError

__all__ = ["EvaluationError", "Expression", "ExpressionError", "parse"]

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
    ast.Add: limits.add,
    ast.Sub: limits.subtract,
    ast.Mult: limits.multiply,
    ast.Div: limits.divide,
}
_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "exists": lambda value: value is not None,
    "lower": lambda value: value.lower() if isinstance(value, str) else value,
    "len": lambda value: len(value) if isinstance(value, str | list | dict) else 0,
}
_ALLOWED = (
    ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.Compare,
    ast.Name, ast.Attribute, ast.Constant, ast.List, ast.Tuple, ast.Subscript, ast.Load,
    ast.BinOp, ast.Call, *_COMPARE, *_ARITHMETIC,
)  # fmt: skip
_OPERATORS = "and, or, not, ==, !=, <, <=, >, >=, in, not in, +, -, *, /"
_CALLABLE = "exists(x), lower(x) and len(x)"
# Operators Python has and the language does not, by the symbol a marketer typed.
_SYMBOLS: dict[type[ast.AST], str] = {
    ast.RShift: ">>", ast.LShift: "<<", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^",
    ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**", ast.MatMult: "@", ast.Invert: "~",
    ast.Is: "`is`", ast.IsNot: "`is not`",
}  # fmt: skip
_CONSTRUCTS: dict[type[ast.AST], str] = {
    ast.IfExp: "`a if b else c` is not allowed; use a branch node",
    ast.Lambda: "functions (lambda) are not allowed",
    ast.ListComp: "comprehensions ([x for x in ...]) are not allowed",
    ast.SetComp: "comprehensions ({x for x in ...}) are not allowed",
    ast.DictComp: "comprehensions ({k: v for ...}) are not allowed",
    ast.GeneratorExp: "comprehensions (x for x in ...) are not allowed",
    ast.Dict: "mappings ({key: value}) are not allowed; compare fields one by one",
    ast.Set: "sets ({a, b}) are not allowed; use a list [a, b]",
    ast.JoinedStr: "f-strings are not allowed; join text with +",
    ast.NamedExpr: "assignments (:=) are not allowed",
    ast.Starred: "* before a value is not allowed",
    ast.Slice: "slices ([a:b]) are not allowed; use one position, e.g. [0]",
}


class ExpressionError(ValueError):
    """An expression that cannot be parsed, uses something the language does not have, or can
    only exceed the limits."""


@dataclass(frozen=True)
class Expression:
    """A parsed expression; evaluate it against a scope of names (event, trigger, profile…)."""

    source: str
    tree: ast.expr

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        """The value, or None when a name is missing. Raises EvaluationError when a value
        would grow beyond the limits or the evaluation takes too many steps."""
        value = _Evaluation(scope).run(self.tree)
        return None if value is _MISSING else value

    def test(self, scope: Mapping[str, Any]) -> bool:
        return bool(self.evaluate(scope))


@lru_cache(maxsize=4096)  # conditions are parsed at every decision; an Expression is immutable
def parse(source: str) -> Expression:
    if len(source) > limits.MAX_SOURCE:
        raise ExpressionError(f"an expression can be at most {limits.MAX_SOURCE:,} characters")
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse {source!r}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError):  # a NUL byte; absurd nesting
        raise ExpressionError(f"cannot parse {source!r}") from None
    _check_depth(tree)
    for node in ast.walk(tree):
        _check(node, source)
    _fold_constants(tree)
    return Expression(source, tree)


def _check_depth(tree: ast.AST) -> None:
    # Evaluation recurses; a bounded depth keeps it far from Python's recursion limit.
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limits.MAX_DEPTH:
            raise ExpressionError(
                f"the expression nests more than {limits.MAX_DEPTH} levels deep; "
                "split it over several branches"
            )
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _check(node: ast.AST, source: str) -> None:
    """Refuse anything outside the language, saying what it is in the words the author typed."""
    if not isinstance(node, _ALLOWED):
        raise ExpressionError(_refusal(node, source))
    if isinstance(node, ast.Call):
        _check_call(node)
    elif isinstance(node, ast.Constant):
        _check_constant(node.value)
    elif (isinstance(node, ast.Attribute) and node.attr.startswith("_")) or (
        isinstance(node, ast.Name) and node.id.startswith("_")
    ):
        raise ExpressionError("names starting with _ are not allowed")


def _refusal(node: ast.AST, source: str) -> str:
    if type(node) in _SYMBOLS:
        return f"the operator {_SYMBOLS[type(node)]} is not allowed; use {_OPERATORS}"
    for kind, reason in _CONSTRUCTS.items():
        if isinstance(node, kind):
            return reason
    segment = ast.get_source_segment(source.strip(), node) if isinstance(node, ast.expr) else None
    part = f"`{segment}` is" if segment else "this part is"
    return f"{part} not part of the condition language; use names, literals, {_OPERATORS}"


def _check_call(node: ast.Call) -> None:
    if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
        raise ExpressionError(f"only {_CALLABLE} can be called")
    name = node.func.id
    if node.keywords or len(node.args) != 1:
        raise ExpressionError(f"{name}(...) takes exactly one value, e.g. {name}(properties.sku)")


def _check_constant(value: Any) -> None:
    if isinstance(value, bytes):
        raise ExpressionError("byte strings (b'...') are not allowed; use plain quotes")
    if isinstance(value, complex):
        raise ExpressionError("complex numbers are not allowed")
    if value is Ellipsis:
        raise ExpressionError("... is not allowed")
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            limits.check_integer(value)
        except EvaluationError as exc:
            raise ExpressionError(str(exc)) from None


def _fold_constants(tree: ast.expr) -> None:
    """Evaluate what is constant now, so that what can only fail (a literal multiplied beyond
    the limits) is refused when the flow is validated rather than when a run gets there."""
    done: set[int] = set()
    for node in ast.walk(tree):  # outermost first: a constant subtree is evaluated once
        if id(node) in done or not isinstance(node, ast.expr) or not _is_constant(node):
            continue
        try:
            _Evaluation({}).run(node)
        except EvaluationError as exc:
            raise ExpressionError(str(exc)) from None
        done.update(id(child) for child in ast.walk(node))


def _is_constant(node: ast.expr) -> bool:
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and child.id not in _CONSTANTS:
            return False
    return True


def _lookup(container: Any, key: Any) -> Any:
    if isinstance(container, Mapping):
        try:
            return container.get(key, _MISSING)
        except TypeError:  # an unhashable key, e.g. a list
            return _MISSING
    if (
        isinstance(container, list | tuple)
        and isinstance(key, int)
        and -len(container) <= key < len(container)
    ):
        return container[key]
    return _MISSING


def _plain(value: Any) -> Any:
    return None if value is _MISSING else value


@dataclass
class _Evaluation:
    """One evaluation: the scope and the steps taken so far (bounded by limits.MAX_STEPS)."""

    scope: Mapping[str, Any]
    steps: int = 0

    def spend(self, steps: int) -> None:
        self.steps += steps
        if self.steps > limits.MAX_STEPS:
            raise EvaluationError(
                f"the condition takes more than {limits.MAX_STEPS:,} steps to evaluate"
            )

    def run(self, node: ast.expr) -> Any:
        self.spend(1)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in _CONSTANTS:
                return _CONSTANTS[node.id]
            return self.scope.get(node.id, _MISSING)
        if isinstance(node, ast.Attribute):
            return _lookup(self.run(node.value), node.attr)
        if isinstance(node, ast.Subscript):
            return _lookup(self.run(node.value), _plain(self.run(node.slice)))
        if isinstance(node, ast.List | ast.Tuple):
            return limits.checked_list([_plain(self.run(item)) for item in node.elts])
        if isinstance(node, ast.BoolOp):
            return self._bool_op(node)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.BinOp):
            left, right = _plain(self.run(node.left)), _plain(self.run(node.right))
            return _ARITHMETIC[type(node.op)](left, right)
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            value = _plain(self.run(node.args[0]))
            return _FUNCTIONS[node.func.id](value)
        raise ExpressionError("this part is not part of the condition language")  # after _check

    def _unary(self, node: ast.UnaryOp) -> Any:
        value = _plain(self.run(node.operand))
        if isinstance(node.op, ast.Not):
            return not value
        if not isinstance(value, int | float):
            return None
        return -value if isinstance(node.op, ast.USub) else value

    def _bool_op(self, node: ast.BoolOp) -> Any:
        is_and = isinstance(node.op, ast.And)
        value: Any = is_and
        for operand in node.values:
            value = _plain(self.run(operand))
            if bool(value) != is_and:
                return value
        return value

    def _compare(self, node: ast.Compare) -> bool:
        left = _plain(self.run(node.left))
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _plain(self.run(comparator))
            # Comparing lists and finding an item in one read every item.
            self.spend(limits.items(left) + limits.items(right))
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError:  # e.g. None < 3: a missing value satisfies no ordering
                return False
            except RecursionError:  # lists in lists a thousand deep, as an event may hold
                raise EvaluationError("the values are nested too deeply to compare") from None
            left = right
        return True
