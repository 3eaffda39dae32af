"""Segment definitions: the language a marketer writes (YAML or JSON), validated into typed
conditions with `{path, reason}` problems, and what each definition reads (its inputs), so the
pipeline re-evaluates only the segments an event can change.

A condition is a mapping named by exactly one of its kinds:
`event`, `trait`, `computed`, `interest`, `consent`, `cart`, `orders`, `segment`, `all`, `any`,
`not`. See docs/segments.md for examples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from nerve.errors import InvalidSegment
from nerve.flows.definition import read as read_document
from nerve.flows.durations import parse_duration
from nerve.flows.problems import describe

KEY_PATTERN = r"^[a-z][a-z0-9_]*$"
MAX_DEPTH = 12


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _window(value: str | None) -> str | None:
    if value is not None:
        parse_duration(value)
    return value


Scalar = str | int | float | bool


class EventCondition(_Strict):
    """How many events of a name (with properties equal to these) the person sent."""

    event: str = Field(min_length=1, max_length=255)
    properties: dict[str, Scalar] = Field(default_factory=dict)
    at_least: int | None = Field(default=None, ge=0)
    at_most: int | None = Field(default=None, ge=0)
    within: str | None = Field(default=None, description="A window such as 7d, 24h, 30m")

    _check_within = field_validator("within")(_window)


class TraitCondition(_Strict):
    trait: str = Field(min_length=1, max_length=255)
    equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    exists: bool | None = None
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    contains: str | None = None


COMPUTED = ("order_count", "total_spent", "average_order_value", "last_order_at", "first_seen",
            "last_seen", "timezone")  # fmt: skip
_MOMENTS = ("last_order_at", "first_seen", "last_seen")


class ComputedCondition(_Strict):
    computed: Literal[
        "order_count", "total_spent", "average_order_value", "last_order_at", "first_seen",
        "last_seen", "timezone",
    ]  # fmt: skip
    equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    exists: bool | None = None
    gt: Decimal | None = None
    gte: Decimal | None = None
    lt: Decimal | None = None
    lte: Decimal | None = None
    within: str | None = Field(default=None, description="The moment is less than this ago")
    before: str | None = Field(default=None, description="The moment is more than this ago")

    _check_windows = field_validator("within", "before")(_window)


class InterestCondition(_Strict):
    interest: str = Field(min_length=3, max_length=120, description='e.g. "brand:Acme Coffee"')
    min_score: float | None = Field(default=None, gt=0)
    top: int | None = Field(default=None, ge=1, le=100)


class ConsentCondition(_Strict):
    consent: str = Field(min_length=1, max_length=128, description="A consent topic")
    channel: Literal["email", "sms", "push"] = "email"


class CartTest(_Strict):
    value_at_least: Decimal | None = Field(default=None, ge=0)
    sku: str | None = None
    category: str | None = None


class CartCondition(_Strict):
    """An open cart with lines (and these tests)."""

    cart: CartTest


class OrdersTest(_Strict):
    at_least: int | None = Field(default=None, ge=0)
    at_most: int | None = Field(default=None, ge=0)
    within: str | None = None
    spent_at_least: Decimal | None = Field(default=None, ge=0)

    _check_within = field_validator("within")(_window)


class OrdersCondition(_Strict):
    orders: OrdersTest


class SegmentCondition(_Strict):
    segment: str = Field(pattern=KEY_PATTERN, max_length=64)


@dataclass(frozen=True)
class All:
    all: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    any: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    not_: Condition


Leaf = (
    EventCondition | TraitCondition | ComputedCondition | InterestCondition | ConsentCondition
    | CartCondition | OrdersCondition | SegmentCondition
)  # fmt: skip
Condition = Leaf | All | AnyOf | Not
_LEAVES: dict[str, type[BaseModel]] = {
    "event": EventCondition, "trait": TraitCondition, "computed": ComputedCondition,
    "interest": InterestCondition, "consent": ConsentCondition, "cart": CartCondition,
    "orders": OrdersCondition, "segment": SegmentCondition,
}  # fmt: skip
KINDS = (*_LEAVES, "all", "any", "not")
_TRAIT_OPERATORS = ("equals", "in", "exists", "gt", "gte", "lt", "lte", "contains")


class _Header(_Strict):
    key: str = Field(pattern=KEY_PATTERN, max_length=64)
    name: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=2000)
    public: bool = False
    trigger_on_build: bool = Field(
        default=False,
        description="Whether people a background build finds start segment_entered flows",
    )
    where: Any


@dataclass(frozen=True)
class SegmentDefinition:
    key: str
    name: str
    description: str | None
    public: bool
    trigger_on_build: bool
    where: Condition
    raw: dict[str, Any]  # the canonical document stored as the version


@dataclass
class Inputs:
    """What a definition reads: an event, trait or fact it names changes its result."""

    events: set[str] = field(default_factory=set)
    traits: set[str] = field(default_factory=set)
    computed: set[str] = field(default_factory=set)
    interests: bool = False
    consent: bool = False
    cart: bool = False
    orders: bool = False
    segments: set[str] = field(default_factory=set)


_HINTS = {
    "(segment)": "a segment is a mapping with key, name and where",
    "key": "must be snake_case: lowercase letters, digits and _, starting with a letter",
}


def load(text: str) -> SegmentDefinition:
    try:
        data = read_document(text)
    except Exception as exc:  # InvalidFlow: same (file) problem, a segment's error type
        found = getattr(exc, "problems", [{"path": "(file)", "reason": str(exc)}])
        raise InvalidSegment(found) from None
    return validate(data)


def validate(data: Any) -> SegmentDefinition:
    """The definition, or InvalidSegment with every problem found without a database."""
    if not isinstance(data, dict):
        raise InvalidSegment([{"path": "(segment)", "reason": _HINTS["(segment)"]}])
    problems: list[dict[str, str]] = []
    header: _Header | None = None
    try:
        header = _Header.model_validate(data | {"where": None})
    except ValidationError as exc:
        problems += _renamed(describe(exc, data, _Header, _HINTS))
    where = None
    if data.get("where") is None:
        problems.append({"path": "where", "reason": "is required"})
    else:
        where = _condition(data["where"], "where", problems, 0)
    if problems or where is None or header is None:
        raise InvalidSegment(problems)
    raw = header.model_dump(exclude={"where"}) | {"where": data["where"]}
    return SegmentDefinition(header.key, header.name, header.description, header.public,
                             header.trigger_on_build, where, raw)  # fmt: skip


def _renamed(problems: list[dict[str, str]]) -> list[dict[str, str]]:
    return [p | {"path": p["path"].replace("(flow)", "(segment)")} for p in problems]


def _condition(data: Any, path: str, problems: list[dict[str, str]], depth: int) -> Any:
    if depth > MAX_DEPTH:
        problems.append({"path": path, "reason": f"conditions nest at most {MAX_DEPTH} deep"})
        return None
    if not isinstance(data, dict):
        problems.append({"path": path, "reason": "must be a condition: a mapping naming one of "
                         + ", ".join(KINDS)})  # fmt: skip
        return None
    kinds = [k for k in KINDS if k in data]
    if len(kinds) != 1:
        found = f"names {', '.join(kinds)}" if kinds else "names none"
        problems.append({"path": path, "reason": f"a condition names exactly one of "
                         f"{', '.join(KINDS)}; this one {found}"})  # fmt: skip
        return None
    kind = kinds[0]
    if kind in ("all", "any", "not"):
        return _group(kind, data, path, problems, depth)
    model = _LEAVES[kind]
    try:
        leaf = model.model_validate(data)
    except ValidationError as exc:
        for problem in describe(exc, data, model, {}):
            inner = problem["path"]
            where = path if inner == "(flow)" else f"{path}.{inner}"
            problems.append({"path": where, "reason": problem["reason"]})
        return None
    problems.extend(_leaf_problems(leaf, path))
    return leaf


def _group(kind: str, data: dict[str, Any], path: str, problems: list[dict[str, str]],
           depth: int) -> Any:  # fmt: skip
    extra = sorted(set(data) - {kind})
    if extra:
        problems.append({"path": f"{path}.{extra[0]}", "reason": f"`{kind}` stands alone in "
                         "its mapping"})  # fmt: skip
    inner = data[kind]
    if kind == "not":
        found = _condition(inner, f"{path}.not", problems, depth + 1)
        return Not(found) if found is not None else None
    if not isinstance(inner, list) or not inner:
        problems.append({"path": f"{path}.{kind}", "reason": "must be a list of conditions"})
        return None
    items = [_condition(c, f"{path}.{kind}[{i}]", problems, depth + 1) for i, c in
             enumerate(inner)]  # fmt: skip
    if any(item is None for item in items):
        return None
    return All(tuple(items)) if kind == "all" else AnyOf(tuple(items))


def _leaf_problems(leaf: Any, path: str) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    if isinstance(leaf, TraitCondition):
        used = [op for op in _TRAIT_OPERATORS if getattr(leaf, _attr(op)) is not None]
        if len(used) != 1:
            found.append({"path": path, "reason": "a trait condition takes exactly one "
                          f"operator of {', '.join(_TRAIT_OPERATORS)}"})  # fmt: skip
    elif isinstance(leaf, ComputedCondition):
        found += _computed_problems(leaf, path)
    elif isinstance(leaf, InterestCondition) and leaf.min_score and leaf.top:
        found.append({"path": path, "reason": "use min_score or top, not both"})
    elif isinstance(leaf, EventCondition | OrdersTest) and _bounds_cross(leaf):
        found.append({"path": f"{path}.at_most", "reason": "must be at least at_least"})
    elif isinstance(leaf, OrdersCondition) and _bounds_cross(leaf.orders):
        found.append({"path": f"{path}.orders.at_most", "reason": "must be at least at_least"})
    return found


def _bounds_cross(leaf: Any) -> bool:
    return leaf.at_least is not None and leaf.at_most is not None and leaf.at_most < leaf.at_least


def _attr(operator: str) -> str:
    return "in_" if operator == "in" else operator


def _computed_problems(leaf: ComputedCondition, path: str) -> list[dict[str, str]]:
    operators = ("equals", "in", "exists", "gt", "gte", "lt", "lte", "within", "before")
    used = [op for op in operators if getattr(leaf, _attr(op)) is not None]
    if len(used) != 1:
        return [{"path": path, "reason": "a computed condition takes exactly one operator of "
                 + ", ".join(operators)}]  # fmt: skip
    operator = used[0]
    moment = leaf.computed in _MOMENTS
    if operator in ("within", "before") and not moment:
        return [{"path": f"{path}.{operator}", "reason": f"{leaf.computed} is not a moment; "
                 f"within/before apply to {', '.join(_MOMENTS)}"}]  # fmt: skip
    if operator in ("gt", "gte", "lt", "lte") and (moment or leaf.computed == "timezone"):
        return [{"path": f"{path}.{operator}", "reason": f"{leaf.computed} is not a number"}]
    return []


# --- what a definition reads --------------------------------------------------------------------


def inputs(condition: Condition, into: Inputs | None = None) -> Inputs:
    found = into or Inputs()
    match condition:
        case All(all=items) | AnyOf(any=items):
            for item in items:
                inputs(item, found)
        case Not(not_=inner):
            inputs(inner, found)
        case EventCondition(event=name):
            found.events.add(name)
        case TraitCondition(trait=name):
            found.traits.add(name)
        case ComputedCondition(computed=name):
            found.computed.add(name)
        case InterestCondition():
            found.interests = True
        case ConsentCondition():
            found.consent = True
        case CartCondition():
            found.cart = True
        case OrdersCondition():
            found.orders = True
        case SegmentCondition(segment=key):
            found.segments.add(key)
    return found


def leaves(condition: Condition) -> list[Leaf]:
    match condition:
        case All(all=items) | AnyOf(any=items):
            return [leaf for item in items for leaf in leaves(item)]
        case Not(not_=inner):
            return leaves(inner)
    return [condition]


def window(text: str | None) -> timedelta | None:
    return None if text is None else parse_duration(text)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a segment definition (editors, the API's docs)."""
    definitions: dict[str, Any] = {}
    refs = []
    for kind, model in _LEAVES.items():
        schema = model.model_json_schema(ref_template="#/$defs/{model}")
        definitions.update(schema.pop("$defs", {}))
        definitions[model.__name__] = schema
        refs.append({"$ref": f"#/$defs/{model.__name__}"})
        del kind
    condition = {"$ref": "#/$defs/Condition"}
    groups = [
        {"type": "object", "properties": {"all": {"type": "array", "items": condition,
                                                  "minItems": 1}},
         "required": ["all"], "additionalProperties": False},
        {"type": "object", "properties": {"any": {"type": "array", "items": condition,
                                                  "minItems": 1}},
         "required": ["any"], "additionalProperties": False},
        {"type": "object", "properties": {"not": condition}, "required": ["not"],
         "additionalProperties": False},
    ]  # fmt: skip
    definitions["Condition"] = {"anyOf": refs + groups}
    header = _Header.model_json_schema()
    header["properties"]["where"] = condition
    header["required"] = sorted({*header.get("required", []), "where"})
    header["$defs"] = definitions
    header["title"] = "Segment definition"
    return header
