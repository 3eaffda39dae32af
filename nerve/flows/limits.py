"""What a flow condition may build and how much work one evaluation may do, and arithmetic that
checks the size of a result before building it — so that no condition can exhaust a worker's
memory or hang it, whatever the event it reads."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

MAX_SOURCE = 2_000  # characters of one expression
MAX_DEPTH = 50  # levels of nesting; evaluation recurses, far from Python's recursion limit
MAX_TEXT = 65_536  # characters of text built by + and * (an event is at most 32 KiB)
MAX_ITEMS = 10_000  # items of a list built by [...], + and *, counting the items of inner lists
MAX_DIGITS = 30  # digits of an integer, written or computed
MAX_STEPS = 100_000  # per evaluation: one per part evaluated, one per list item compared
_INTEGER_BOUND = 10**MAX_DIGITS
_INTEGER_BITS = _INTEGER_BOUND.bit_length()


class EvaluationError(ValueError):
    """A condition that cannot be evaluated within the limits: the step deciding it fails."""


def check_integer(value: int) -> int:
    if -_INTEGER_BOUND < value < _INTEGER_BOUND:
        return value
    raise EvaluationError(f"a number would have more than {MAX_DIGITS} digits")


def items(value: Any) -> int:
    """Items a comparison with `value` may read (not counting characters: those compare in C)."""
    return len(value) if isinstance(value, list | tuple | dict) else 0


def _deep_items(value: Any) -> int:
    """Items of a list including those of the lists and mappings inside it, counted up to just
    past MAX_ITEMS (a list repeated inside another counts each time it appears)."""
    count, stack = 0, [value]
    while stack and count <= MAX_ITEMS:
        current = stack.pop()
        if isinstance(current, list | tuple):
            count += len(current)
            stack.extend(current)
        elif isinstance(current, dict):
            count += len(current)
            stack.extend(current.values())
    return count


def _check_text(length: int) -> None:
    if length > MAX_TEXT:
        raise EvaluationError(f"the text would be longer than {MAX_TEXT:,} characters")


def _check_items(count: int) -> None:
    if count > MAX_ITEMS:
        raise EvaluationError(f"the list would have more than {MAX_ITEMS:,} items")


def checked_list(value: list[Any]) -> list[Any]:
    _check_items(_deep_items(value))
    return value


def _apply(operation: Callable[[Any, Any], Any], left: Any, right: Any) -> Any:
    """The result, None when the operation makes no sense for these values (text minus a
    number, a division by zero) — as a missing value does."""
    try:
        result = operation(left, right)
    except (TypeError, ZeroDivisionError):
        return None
    except OverflowError:  # an integer too large for a float
        raise EvaluationError("a number would be too large") from None
    if isinstance(result, int) and not isinstance(result, bool):
        check_integer(result)
    return result


def add(left: Any, right: Any) -> Any:
    if isinstance(left, str) and isinstance(right, str):
        _check_text(len(left) + len(right))
    elif isinstance(left, list | tuple) and isinstance(right, list | tuple):
        _check_items(_deep_items(left) + _deep_items(right))
    return _apply(operator.add, left, right)


def subtract(left: Any, right: Any) -> Any:
    return _apply(operator.sub, left, right)


def multiply(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, str | list | tuple):
        left, right = right, left  # 3 * "ab" repeats like "ab" * 3
    if isinstance(left, str | list | tuple) and isinstance(right, int):
        # Checked before building: "x" * 10**10 must never be attempted.
        times = max(right, 0)
        if isinstance(left, str):
            _check_text(len(left) * times)
        else:
            _check_items(_deep_items(left) * times)
    elif (
        isinstance(left, int)
        and isinstance(right, int)
        and left.bit_length() + right.bit_length() > _INTEGER_BITS + 1
    ):
        raise EvaluationError(f"a number would have more than {MAX_DIGITS} digits")
    return _apply(operator.mul, left, right)


def divide(left: Any, right: Any) -> Any:
    return _apply(operator.truediv, left, right)
