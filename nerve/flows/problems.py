"""Validation problems as a marketer reads them: the path of the field in the flow file
(`nodes[2].wait`) and a plain reason — never the validator's own vocabulary (the members of a
union such as `literal['once',…]`, `function-after`, Python type names).

Pydantic reports a field that may take several forms (`wait: 2h` or `wait: {until: "09:00"}`)
once per form; the form the author evidently meant is kept, or one hint for the field.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

Problem = dict[str, str]
_SHAPE_ERRORS = {
    "string_type", "string_pattern_mismatch", "literal_error", "model_type", "dict_type",
    "model_attributes_type", "time_parsing", "time_type", "int_type", "int_parsing",
    "float_type", "float_parsing", "list_type", "any_form", "bool_type", "bool_parsing",
}  # fmt: skip
_PLAIN: dict[str, str] = {
    "missing": "is required",
    "string_too_short": "must not be empty",
    "int_type": "must be a whole number, not {kind}",
    "int_parsing": "must be a whole number, not {kind}",
    "int_from_float": "must be a whole number, not {kind}",
    "float_type": "must be a number, not {kind}",
    "float_parsing": "must be a number, not {kind}",
    "bool_type": "must be true or false, not {kind}",
    "bool_parsing": "must be true or false, not {kind}",
    "string_type": "must be text, not {kind}",
    "list_type": "must be a list, not {kind}",
    "dict_type": "must be a mapping (field: value), not {kind}",
    "model_type": "must be a mapping (field: value), not {kind}",
    "model_attributes_type": "must be a mapping (field: value), not {kind}",
    "time_parsing": 'must be a time of day in quotes, e.g. "09:00"',
    "time_type": 'must be a time of day in quotes, e.g. "09:00"',
    "string_pattern_mismatch": "has characters that are not allowed here",
    "any_form": "has a form that is not allowed here",
}
_BOUNDS: dict[str, tuple[str, str]] = {
    "greater_than": ("gt", "must be more than {}"),
    "greater_than_equal": ("ge", "must be at least {}"),
    "less_than": ("lt", "must be less than {}"),
    "less_than_equal": ("le", "must be at most {}"),
    "too_short": ("min_length", "must have at least {} item(s)"),
    "too_long": ("max_length", "must have at most {} items"),
    "string_too_long": ("max_length", "must be at most {} characters"),
}


@dataclass
class _Located:
    """One error, with its loc read against the models: the marketer's path, and the union
    member it came from if any."""

    error: ErrorDetails
    parts: tuple[str | int, ...]
    field: str | None  # the last field on the path
    fields_here: tuple[str, ...]  # the fields of the mapping the error is in
    union_at: tuple[str | int, ...] | None = None
    member_is_model: bool | None = None  # None: not from one member of a union

    @property
    def path(self) -> str:
        text = ""
        for part in self.parts:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
        return text or "(flow)"


def describe(
    error: ValidationError, data: Any, root: type[BaseModel], hints: Mapping[str, str]
) -> list[Problem]:
    """Every problem once. `hints`: the reason to give for a field (`(flow)`: the document)
    that has the wrong type or form, when its type alone does not say what to write."""
    located = _choose_forms([_locate(e, root) for e in error.errors()], data)
    problems: list[Problem] = []
    for item in located:
        problem = {"path": item.path, "reason": _reason(item, hints)}
        if problem not in problems:
            problems.append(problem)
    return problems


@cache
def _fields(model: type[BaseModel]) -> dict[str, Any]:
    """The model's fields by the name a flow file uses (the alias), with their annotations."""
    return {(info.alias or name): info.annotation for name, info in model.model_fields.items()}


def _models_in(annotation: Any) -> tuple[type[BaseModel], ...]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return (annotation,)
    found: tuple[type[BaseModel], ...] = ()
    for argument in typing.get_args(annotation):
        found += _models_in(argument)
    return found


def _is_union(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    return origin in (typing.Union, types.UnionType) and bool(_models_in(annotation))


def _locate(error: ErrorDetails, root: type[BaseModel]) -> _Located:
    parts: list[str | int] = []
    models: tuple[type[BaseModel], ...] = (root,)
    field: str | None = None
    union_at: tuple[str | int, ...] | None = None
    member_is_model: bool | None = None
    last = len(error["loc"]) - 1
    for position, part in enumerate(error["loc"]):
        if isinstance(part, int):
            parts.append(part)
            continue
        owner = next((m for m in models if part in _fields(m)), None)
        if owner is None and position == last and error["type"] == "extra_forbidden":
            parts.append(part)  # the unknown field the author wrote
        elif owner is not None:
            parts.append(part)
            field = part
            annotation = _fields(owner)[part]
            models = _models_in(annotation)
            if union_at is None and _is_union(annotation):
                union_at = tuple(parts)
        elif union_at == tuple(parts) and member_is_model is None:
            # A label of the union member pydantic tried: the model's name, or a type's.
            chosen = [m for m in models if m.__name__ == part]
            member_is_model = bool(chosen)
            models = tuple(chosen) or models
        # Any other label (a validator wrapper such as function-after[...]) is not a field.
    fields_here = tuple(_fields(models[0])) if len(models) == 1 else ()
    return _Located(error, tuple(parts), field, fields_here, union_at, member_is_model)


def _value_at(data: Any, parts: tuple[str | int, ...]) -> Any:
    """What the author wrote at a path, or None."""
    for part in parts:
        if isinstance(data, Mapping):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def _choose_forms(located: list[_Located], data: Any) -> list[_Located]:
    """Of the errors pydantic reports for each form of a union field, keep those of the form
    the author meant: a mapping meant the mapping form; text, the text form. Otherwise one
    `any_form` error for the field."""
    chosen: list[_Located] = []
    replaced: set[tuple[str | int, ...]] = set()
    for item in located:
        if item.member_is_model is None or item.union_at is None:
            chosen.append(item)
            continue
        value = _value_at(data, item.union_at)
        if isinstance(value, Mapping | str):
            if item.member_is_model == isinstance(value, Mapping):
                chosen.append(item)
        elif item.union_at not in replaced:
            replaced.add(item.union_at)
            error = ErrorDetails(type="any_form", loc=item.error["loc"], msg="", input=value)
            field = item.union_at[-1] if isinstance(item.union_at[-1], str) else item.field
            chosen.append(_Located(error, item.union_at, field, ()))
    return chosen


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return "this value"


def _reason(item: _Located, hints: Mapping[str, str]) -> str:
    error = item.error
    kind = error["type"]
    if kind in ("value_error", "assertion_error"):
        # Our own validators' messages, without pydantic's "Value error, " in front.
        return error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    hint = hints.get(item.field or "(flow)")
    if kind in _SHAPE_ERRORS and hint is not None:
        return hint
    if kind == "extra_forbidden":
        allowed = f"; allowed here: {', '.join(item.fields_here)}" if item.fields_here else ""
        return f"is not a field{allowed}"
    if kind == "literal_error":
        expected = str((error.get("ctx") or {}).get("expected", "")).replace("'", "")
        return f"must be one of: {expected.replace(' or ', ', ')}"
    if kind in _BOUNDS:
        limit, template = _BOUNDS[kind]
        value = (error.get("ctx") or {}).get(limit)
        return "must not be empty" if (kind, value) == ("too_short", 1) else template.format(value)
    template = _PLAIN.get(kind, "is not valid here")
    return template.format(kind=_kind(error.get("input")))
