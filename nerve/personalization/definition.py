"""Slot definitions as marketers write them (YAML or JSON), checked with every problem's path
and reason before a version is kept.

A content slot (`kind: content`) has variants of content JSON for the head and a default; a
product-list slot (`kind: product_list`) has variants that pin skus and boost skus, categories
or collections on a listing (`context: category:Shoes` or `query:running`). Rules are tried in
order; the first whose condition holds (and whose schedule is now) shows its variant or runs
its experiment; none: the default.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from nerve.errors import InvalidSlot

KEY = r"^[a-z0-9][a-z0-9_-]{0,99}$"
MAX_CONTENT_BYTES = 16 * 1024  # a banner's title, image, link, colours: a few hundred bytes
MAX_DEPTH = 5  # conditions nested in all/any/not
CONTEXT_KINDS = ("category", "query")
HOLDOUT = "holdout"  # the arm name of an experiment's holdout group

Key = Annotated[str, Field(pattern=KEY)]
Sku = Annotated[str, Field(min_length=1, max_length=255)]
Name = Annotated[str, Field(min_length=1, max_length=255)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


def _exactly_one(model: BaseModel, fields: tuple[str, ...]) -> None:
    given = [f for f in fields if getattr(model, f) is not None]
    if len(given) != 1:
        raise ValueError(f"give exactly one of {', '.join(fields)}")


class InterestCondition(_Strict):
    """The person's interest `key` (`category:Running`, `brand:Acme`) is among their `top` N,
    or scores at least `min_score`."""

    key: str = Field(min_length=3, max_length=110, pattern=r"^(category|brand):.+$")
    top: int | None = Field(default=None, ge=1, le=50)
    min_score: float | None = Field(default=None, ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _one(self) -> InterestCondition:
        _exactly_one(self, ("top", "min_score"))
        return self


class CartCondition(_Strict):
    """The person's open cart has lines, or a line of a product in `contains_category`."""

    has_lines: bool | None = None
    contains_category: Name | None = None

    @model_validator(mode="after")
    def _one(self) -> CartCondition:
        _exactly_one(self, ("has_lines", "contains_category"))
        return self


class Condition(_Strict):
    """Exactly one test: in a segment, not in one, an interest, the cart, known or not, or
    `all` / `any` / `not` of other conditions."""

    segment: Key | None = None
    not_segment: Key | None = None
    interest: InterestCondition | None = None
    cart: CartCondition | None = None
    known: bool | None = None
    all: list[Condition] | None = Field(default=None, min_length=1, max_length=20)
    any: list[Condition] | None = Field(default=None, min_length=1, max_length=20)
    not_: Condition | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _one(self) -> Condition:
        _exactly_one(self, ("segment", "not_segment", "interest", "cart", "known", "all", "any",
                            "not_"))  # fmt: skip
        return self


class Boost(_Strict):
    """Raise (weight > 0) or lower (< 0) a sku, a category or a collection in the listing."""

    sku: Sku | None = None
    category: Name | None = None
    collection: Name | None = None
    weight: float = Field(ge=-100, le=100)

    @model_validator(mode="after")
    def _one(self) -> Boost:
        _exactly_one(self, ("sku", "category", "collection"))
        return self


class Variant(_Strict):
    key: Key
    content: dict[str, Any] = Field(default_factory=dict, description="What the head shows")
    pin: list[Sku] = Field(default_factory=list, max_length=50, description="product_list")
    boost: list[Boost] = Field(default_factory=list, max_length=50, description="product_list")
    bury_out_of_stock: bool = False


class Arm(_Strict):
    key: Key
    variant: Key
    weight: float = Field(gt=0, le=100, description="Percent of the visitors")


class Experiment(_Strict):
    """An A/B test: each visitor lands in one arm by a hash of the experiment and their id
    (stable); the `holdout` percent always gets the slot's default."""

    key: Key
    arms: list[Arm] = Field(min_length=1, max_length=10)
    holdout: float = Field(default=0, ge=0, lt=100)

    @model_validator(mode="after")
    def _sums(self) -> Experiment:
        total = sum(arm.weight for arm in self.arms)
        if abs(total + self.holdout - 100) > 1e-6:
            raise ValueError(f"the arms' weights ({total:g}) and the holdout ({self.holdout:g}) "
                             "must sum to 100")  # fmt: skip
        if any(round(arm.weight * 100) != arm.weight * 100 for arm in self.arms):
            raise ValueError("weights are percent with at most two decimals")
        return self


class Rule(_Strict):
    name: Key | None = Field(default=None, description="Named in the answer's `reason`")
    when: Condition | None = Field(default=None, description="Everyone when not given")
    context: list[str] | None = Field(
        default=None, min_length=1, max_length=50,
        description="product_list: the listings it applies to (`category:Shoes`, "
        "`query:running`); every listing when not given",
    )  # fmt: skip
    from_: datetime | None = Field(default=None, alias="from")
    until: datetime | None = None
    variant: Key | None = None
    experiment: Key | None = None

    @model_validator(mode="after")
    def _one(self) -> Rule:
        _exactly_one(self, ("variant", "experiment"))
        for at in (self.from_, self.until):
            if at is not None and at.tzinfo is None:
                raise ValueError("give times with their offset (2026-12-01T09:00:00+01:00)")
        if self.from_ and self.until and self.from_ >= self.until:
            raise ValueError("`from` must be before `until`")
        return self


class SlotDefinition(_Strict):
    key: Key
    kind: Literal["content", "product_list"] = "content"
    name: str = Field(default="", max_length=255)
    description: str = Field(default="", max_length=2000)
    default: Key | None = Field(default=None, description="content: required")
    variants: list[Variant] = Field(default_factory=list, max_length=50)
    rules: list[Rule] = Field(default_factory=list, max_length=100)
    experiments: list[Experiment] = Field(default_factory=list, max_length=10)


def read(text: str) -> Any:
    """YAML (JSON is YAML too) to data; InvalidSlot naming `(file)` when it is neither."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidSlot([{"path": "(file)", "reason": f"not YAML/JSON: {exc}"}]) from None


def validate(data: Any) -> SlotDefinition:
    """The definition, or InvalidSlot with every problem and where it is."""
    if not isinstance(data, dict):
        raise InvalidSlot([{"path": "(slot)", "reason": "a slot is a mapping of its fields"}])
    try:
        slot = SlotDefinition.model_validate(data)
    except ValidationError as exc:
        raise InvalidSlot([
            {"path": ".".join(str(p) for p in e["loc"]) or "(slot)", "reason": e["msg"]}
            for e in exc.errors(include_url=False)
        ]) from None  # fmt: skip
    problems = _references(slot) + _kind_problems(slot)
    if problems:
        raise InvalidSlot(problems)
    return slot


def canonical(slot: SlotDefinition) -> dict[str, Any]:
    """What is stored and compared: aliases as written, no unset optional fields."""
    return slot.model_dump(mode="json", by_alias=True, exclude_none=True)


def parse_context(raw: str) -> tuple[str, str]:
    """`category:Shoes` → ("category", "shoes"): kind and the value as matched (case and
    spacing folded); ValueError for another kind or no value."""
    kind, _, value = raw.partition(":")
    folded = " ".join(value.split()).casefold()
    if kind not in CONTEXT_KINDS or not folded:
        raise ValueError(f"a context is category:NAME or query:TEXT, not {raw[:100]!r}")
    return kind, folded


def segment_keys(slot: SlotDefinition) -> list[tuple[str, str]]:
    """(path, segment key) of every segment the rules name."""
    found: list[tuple[str, str]] = []
    for index, rule in enumerate(slot.rules):
        if rule.when is not None:
            _segments_in(rule.when, f"rules.{index}.when", found)
    return found


def _segments_in(condition: Condition, path: str, found: list[tuple[str, str]]) -> None:
    if condition.segment is not None:
        found.append((f"{path}.segment", condition.segment))
    if condition.not_segment is not None:
        found.append((f"{path}.not_segment", condition.not_segment))
    for field in ("all", "any"):
        for index, inner in enumerate(getattr(condition, field) or []):
            _segments_in(inner, f"{path}.{field}.{index}", found)
    if condition.not_ is not None:
        _segments_in(condition.not_, f"{path}.not", found)


def _depth(condition: Condition) -> int:
    inner = [*(condition.all or []), *(condition.any or [])]
    if condition.not_ is not None:
        inner.append(condition.not_)
    return 1 + max((_depth(c) for c in inner), default=0)


def _references(slot: SlotDefinition) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    variants = _unique(problems, "variants", [v.key for v in slot.variants])
    experiments = _unique(problems, "experiments", [e.key for e in slot.experiments])
    if slot.default is not None and slot.default not in variants:
        problems.append({"path": "default", "reason": f"no variant {slot.default!r}"})
    for e_index, experiment in enumerate(slot.experiments):
        arms = _unique(problems, f"experiments.{e_index}.arms", [a.key for a in experiment.arms])
        if HOLDOUT in arms:
            problems.append({"path": f"experiments.{e_index}.arms",
                             "reason": f"{HOLDOUT!r} names the holdout group"})  # fmt: skip
        for a_index, arm in enumerate(experiment.arms):
            if arm.variant not in variants:
                problems.append({"path": f"experiments.{e_index}.arms.{a_index}.variant",
                                 "reason": f"no variant {arm.variant!r}"})  # fmt: skip
    for index, rule in enumerate(slot.rules):
        path = f"rules.{index}"
        if rule.variant is not None and rule.variant not in variants:
            problems.append({"path": f"{path}.variant", "reason": f"no variant {rule.variant!r}"})
        if rule.experiment is not None and rule.experiment not in experiments:
            problems.append({"path": f"{path}.experiment",
                             "reason": f"no experiment {rule.experiment!r}"})  # fmt: skip
        if rule.when is not None and _depth(rule.when) > MAX_DEPTH:
            problems.append({"path": f"{path}.when",
                             "reason": f"conditions nest at most {MAX_DEPTH} deep"})  # fmt: skip
    return problems


def _unique(problems: list[dict[str, str]], path: str, keys: list[str]) -> set[str]:
    seen: set[str] = set()
    for index, key in enumerate(keys):
        if key in seen:
            problems.append({"path": f"{path}.{index}.key", "reason": f"{key!r} is used twice"})
        seen.add(key)
    return seen


def _kind_problems(slot: SlotDefinition) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    listing = slot.kind == "product_list"
    if not listing and slot.default is None:
        problems.append({"path": "default", "reason": "a content slot needs a default variant"})
    for index, variant in enumerate(slot.variants):
        path = f"variants.{index}"
        if not listing and (variant.pin or variant.boost or variant.bury_out_of_stock):
            problems.append({"path": path, "reason": "pin, boost and bury_out_of_stock are "
                             "for product_list slots"})  # fmt: skip
        if listing and variant.content:
            problems.append({"path": f"{path}.content",
                             "reason": "a product_list variant pins and boosts"})  # fmt: skip
        if len(orjson.dumps(variant.content)) > MAX_CONTENT_BYTES:
            problems.append({"path": f"{path}.content",
                             "reason": f"larger than {MAX_CONTENT_BYTES} bytes"})  # fmt: skip
    for index, rule in enumerate(slot.rules):
        if rule.context is None:
            continue
        if not listing:
            problems.append({"path": f"rules.{index}.context",
                             "reason": "a context is for product_list slots"})  # fmt: skip
        for c_index, raw in enumerate(rule.context):
            try:
                parse_context(raw)
            except ValueError as exc:
                problems.append({"path": f"rules.{index}.context.{c_index}", "reason": str(exc)})
    return problems
