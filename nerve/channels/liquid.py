"""The Liquid sandbox every message is rendered in.

A template sees plain data only — dicts, lists, strings, numbers built from the person, the
event, the cart, the order — so `{{ self.__class__ }}`-style paths lead nowhere: Liquid reads
keys of mappings, never Python attributes. Loops, output, nesting and assignments are bounded, so
a template cannot run away with a worker. Checked at save time (`problems`): syntax, filters,
names outside the known roots, and a strict render against a sample, where a variable the sample
lacks must have a `default`; sends render leniently (a missing trait is empty), so a saved
template never fails first at send time.
"""

from __future__ import annotations

import functools
from typing import Any

from liquid import BoundTemplate, Environment, StrictDefaultUndefined
from liquid.exceptions import LiquidError

# What a template may name at its top level.
ROOTS = ("person", "event", "cart", "order", "products", "digest", "message", "shop",
         "recommendations")  # fmt: skip


class _Sandbox(Environment):
    loop_iteration_limit = 10_000  # all loops of one render together
    output_stream_limit = 1_000_000  # characters of output
    context_depth_limit = 20  # nested renders and includes
    local_namespace_limit = 100_000  # bytes of assigned and captured values


LENIENT = _Sandbox()
STRICT = _Sandbox(undefined=StrictDefaultUndefined)


@functools.lru_cache(maxsize=1024)
def parse(source: str, strict: bool = False) -> BoundTemplate:
    """Parsed once per process and source: sends render the same versions again and again."""
    return (STRICT if strict else LENIENT).from_string(source)


def problems(part: str, source: str, sample: dict[str, Any]) -> list[dict[str, str]]:
    """What is wrong with one part of a template (subject, html, ...), with where."""
    try:
        template = parse(source, strict=True)
        names = template.analyze().globals
    except LiquidError as exc:
        return [_problem(part, source, exc)]
    found = [
        {"path": _where(part, source, variable.span.index),
         "reason": f"unknown name {name!r}; a template may use {', '.join(ROOTS)}"}
        for name, variables in names.items() if name not in ROOTS
        for variable in variables[:1]
    ]  # fmt: skip
    if found:
        return found
    try:
        template.render(**sample)
    except LiquidError as exc:
        problem = _problem(part, source, exc)
        if "undefined" in problem["reason"]:
            problem["reason"] += (
                " for the sample person: add a default, such as "
                "{{ person.traits.first_name | default: 'there' }}"
            )
        return [problem]
    return []


def render(template: BoundTemplate, context: dict[str, Any]) -> str:
    return str(template.render(**context))


def _problem(part: str, source: str, exc: LiquidError) -> dict[str, str]:
    token = getattr(exc, "token", None)
    index = getattr(token, "start_index", None)
    if isinstance(index, int) and index < 0:  # the end of the text: an unclosed tag
        index = len(source)
    path = _where(part, source, index) if isinstance(index, int) else part
    return {"path": path, "reason": getattr(exc, "message", None) or str(exc).split("\n")[0]}


def _where(part: str, source: str, index: int) -> str:
    line = source.count("\n", 0, index) + 1
    column = index - (source.rfind("\n", 0, index) + 1) + 1
    return f"{part}:{line}:{column}"
