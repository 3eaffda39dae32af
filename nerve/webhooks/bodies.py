"""A webhook's body and headers as templates: Liquid over the person, the event, the cart, the
order and the products, so a shop maps its fields onto a receiver's (`person.traits.first_name`
→ the CRM's `firstName`) without code.

Two forms of body:
- `body`, a JSON structure whose strings are Liquid, each rendered on its own: a value with a
  quote in it can never break the JSON. A string that is one variable and nothing else
  (`"{{ order.total }}"`) keeps the value's JSON type (a number stays a number, a missing value
  is `null`); anything more is text.
- `body_template`, a text rendered and then parsed as JSON, for what a structure cannot say
  (a list built in a loop, a field only under a condition); `| json` writes a value as JSON.

Both are checked when the flow is validated: rendered strictly against the sample
(nerve/channels/sample.py), and the template's result parsed as JSON, each problem at its path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from liquid import BoundTemplate, StrictDefaultUndefined, Undefined
from liquid.exceptions import LiquidError

from nerve.channels import liquid
from nerve.channels.sample import SAMPLE

# What a webhook's templates may name: what the step knows of its run and person.
ROOTS = ("person", "event", "cart", "order", "products")
SAMPLE_CONTEXT = {root: SAMPLE[root] for root in ROOTS}
# RFC 9110 §5.1: a field name is a token.
HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}")
# Set by Nerve: the signature and what it covers, the framing, and the idempotency key.
RESERVED = ("content-type", "content-length", "host", "transfer-encoding", "connection",
            "idempotency-key")  # fmt: skip
RESERVED_PREFIX = "webhook-"  # Standard Webhooks' headers: id, timestamp, signature
MAX_HEADERS = 20
MAX_HEADER_VALUE = 4000
_LIQUID = ("{{", "{%")
_PATH = re.compile(r"\{\{\s*([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*|\[\d+\])*)\s*\}\}")
_STEP = re.compile(r"\.?([A-Za-z_][\w-]*)|\[(\d+)\]")
_NOT_NATIVE = object()  # a path Liquid reads otherwise (`.size`, `.first` of a list)


class _JsonSandbox(type(liquid.LENIENT)):  # type: ignore[misc]  # the channels' limits
    """The channels' sandbox (loop, output and nesting limits) with a `json` filter."""

    def setup_tags_and_filters(self, extra: bool = False) -> None:
        super().setup_tags_and_filters(extra=extra)
        self.filters["json"] = _as_json


def _as_json(value: object) -> str:
    if isinstance(value, Undefined):
        return "null"
    return json.dumps(value, ensure_ascii=False, default=str)


_LENIENT = _JsonSandbox()
_STRICT = _JsonSandbox(undefined=StrictDefaultUndefined)
_parsed: dict[tuple[str, bool], BoundTemplate] = {}


@dataclass(frozen=True)
class RequestTemplate:
    """What a webhook node says about its request beside where it goes."""

    body: Any = field(default_factory=dict)
    body_template: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def personal(self) -> bool:
        """Whether rendering it needs the person, the event or the order (any Liquid at all)."""
        texts = [text for _, text in _strings(self.body, "body")]
        texts += [self.body_template or "", *self.headers.values()]
        return any(mark in text for text in texts for mark in _LIQUID)


def problems(request: RequestTemplate) -> list[dict[str, str]]:
    """Everything wrong with a node's body and headers, rendered strictly against the sample;
    paths under `with` (`body.crm.firstName`, `body_template`, `headers.X-Shop`)."""
    found = []
    for path, text in _strings(request.body, "body"):
        found += _text_problems(path, text)
    if request.body_template is not None:
        found += _template_problems(request.body_template)
    found += header_problems(request.headers)
    return found


def header_problems(headers: dict[str, str]) -> list[dict[str, str]]:
    if len(headers) > MAX_HEADERS:
        return [{"path": "headers", "reason": f"at most {MAX_HEADERS} headers"}]
    found = []
    for name, value in headers.items():
        path = f"headers.{name}"
        if not HEADER_NAME.fullmatch(name):
            found.append({"path": path, "reason": "a header's name is 1-100 letters, digits "
                          "and !#$%&'*+-.^_`|~ (RFC 9110 §5.1)"})  # fmt: skip
        elif name.lower() in RESERVED or name.lower().startswith(RESERVED_PREFIX):
            found.append({"path": path, "reason": "set by Nerve (the signature, the body's "
                          "type and framing, the idempotency key): not replaceable"})  # fmt: skip
        elif not isinstance(value, str):
            found.append({"path": path, "reason": "a header's value is text (Liquid)"})
        elif any(c in value for c in "\r\n\x00"):
            found.append({"path": path, "reason": "a header's value is one line"})
        else:
            found += _text_problems(path, value)
    return found


def render_body(request: RequestTemplate, context: dict[str, Any]) -> Any:
    """The body's JSON value for one step (lenient: a missing trait is empty, or null where
    it stands alone). ValueError when `body_template` does not render to JSON."""
    if request.body_template is not None:
        text = _template(request.body_template, strict=False).render(**context)
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"body_template did not render to JSON for this person: {exc}"
            ) from None
    return _render_structure(request.body, context)


def render_headers(request: RequestTemplate, context: dict[str, Any]) -> dict[str, str]:
    """The node's headers for one step, each one line."""
    rendered = {}
    for name, value in request.headers.items():
        text = _render_text(value, context)
        rendered[name] = " ".join(text.split())[:MAX_HEADER_VALUE]
    return rendered


def _render_structure(value: Any, context: dict[str, Any]) -> Any:
    if isinstance(value, str):
        native = _native(value, context)
        return _render_text(value, context) if native is _NOT_NATIVE else native
    if isinstance(value, list):
        return [_render_structure(item, context) for item in value]
    if isinstance(value, dict):
        return {key: _render_structure(item, context) for key, item in value.items()}
    return value


def _render_text(text: str, context: dict[str, Any]) -> str:
    if not any(mark in text for mark in _LIQUID):
        return text
    return str(_template(text, strict=False).render(**context))


def _native(text: str, context: dict[str, Any]) -> Any:
    """The value a string that is one variable names, with its JSON type; _NOT_NATIVE for
    any other string (and a path only Liquid reads: `products.size`)."""
    match = _PATH.fullmatch(text)
    if match is None:
        return _NOT_NATIVE
    value: Any = context
    for name, index in _STEP.findall(match.group(1)):
        if isinstance(value, dict) and name:
            value = value.get(name)
        elif isinstance(value, list) and index:
            value = value[int(index)] if int(index) < len(value) else None
        elif value is None:
            return None
        else:
            return _NOT_NATIVE
    return value


def _template_problems(source: str) -> list[dict[str, str]]:
    found = _text_problems("body_template", source)
    if found:
        return found
    text = _template(source, strict=True).render(**SAMPLE_CONTEXT)
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        shown = text[max(0, exc.pos - 30) : exc.pos + 30].replace("\n", " ")
        return [{"path": "body_template", "reason": f"does not render to JSON for the sample "
                 f"person: {exc.msg} at line {exc.lineno}, column {exc.colno} (near "
                 f"{shown!r}); write values with | json, such as "
                 "{{ person.traits.first_name | json }}"}]  # fmt: skip
    return []


def _text_problems(path: str, source: str) -> list[dict[str, str]]:
    """Liquid problems of one text against the sample: syntax, names outside ROOTS, values the
    sample lacks without a default."""
    if not any(mark in source for mark in _LIQUID):
        return []
    try:
        template = _template(source, strict=True)
        names = set(template.analyze().globals)
        unknown = sorted(names - set(ROOTS))
        if unknown:
            return [{"path": path, "reason": f"unknown name {unknown[0]!r}; a webhook may use "
                     f"{', '.join(ROOTS)}"}]  # fmt: skip
        if not _PATH.fullmatch(source):  # one variable alone may be missing: it is null then
            template.render(**SAMPLE_CONTEXT)
    except LiquidError as exc:
        reason = getattr(exc, "message", None) or str(exc).split("\n")[0]
        if "undefined" in reason:
            reason += (" for the sample person: add a default, such as "
                       "{{ person.traits.first_name | default: nil }}")  # fmt: skip
        return [{"path": path, "reason": reason}]
    return []


def _template(source: str, *, strict: bool) -> BoundTemplate:
    key = (source, strict)
    if key not in _parsed:
        if len(_parsed) > 4096:  # versions are few; a bound on the cache all the same
            _parsed.clear()
        _parsed[key] = (_STRICT if strict else _LENIENT).from_string(source)
    return _parsed[key]


def _strings(value: Any, path: str) -> list[tuple[str, str]]:
    """Every string inside a JSON structure with its path (body.crm.firstName)."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, list):
        return [found for i, item in enumerate(value) for found in _strings(item, f"{path}[{i}]")]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in _strings(item, f"{path}.{key}")]
    return []
