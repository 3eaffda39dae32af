"""One slot's decision for one visitor: the first rule whose schedule is now, whose listing
context matches and whose condition holds shows its variant or runs its experiment; when none
does, the default. Only the facts a condition tests are read (see visitor.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nerve.personalization import assignment
from nerve.personalization.definition import (
    HOLDOUT,
    Condition,
    Rule,
    SlotDefinition,
    Variant,
    parse_context,
)
from nerve.personalization.visitor import Visitor, category_levels


@dataclass(frozen=True)
class Decision:
    slot: SlotDefinition
    variant: Variant | None  # None: a product_list slot with no default and no rule that held
    reason: str
    experiment: str | None = None
    arm: str | None = None


Context = tuple[str, str]  # ("category", "shoes"), folded as parse_context folds it


def decide(slot: SlotDefinition, visitor: Visitor, context: Context | None) -> Decision:
    variants = {v.key: v for v in slot.variants}
    default = variants.get(slot.default) if slot.default is not None else None
    for index, rule in enumerate(slot.rules):
        if not _scheduled(rule, visitor.now) or not _in_context(slot, rule, context):
            continue
        if rule.when is not None and not holds(rule.when, visitor):
            continue
        reason = f"rule:{rule.name or index + 1}"
        if rule.variant is not None:
            return Decision(slot, variants[rule.variant], reason)
        experiment = next(e for e in slot.experiments if e.key == rule.experiment)
        arm = assignment.assign(visitor.workspace_id, experiment, visitor.assignment_id)
        if arm is None:
            return Decision(slot, default, HOLDOUT, experiment.key, HOLDOUT)
        return Decision(slot, variants[arm.variant], reason, experiment.key, arm.key)
    return Decision(slot, default, "default")


def holds(condition: Condition, visitor: Visitor) -> bool:
    if condition.segment is not None:
        return condition.segment in visitor.segment_keys
    if condition.not_segment is not None:
        return condition.not_segment not in visitor.segment_keys
    if condition.interest is not None:
        wanted = condition.interest
        if wanted.top is not None:
            rank = visitor.interest_ranks.get(wanted.key)
            return rank is not None and rank <= wanted.top
        score = visitor.interests.get(wanted.key)
        return score is not None and score >= (wanted.min_score or 0.0)
    if condition.cart is not None:
        if condition.cart.has_lines is not None:
            return bool(visitor.cart_lines) == condition.cart.has_lines
        wanted_category = condition.cart.contains_category or ""
        return bool(category_levels(wanted_category) & visitor.cart_categories)
    if condition.known is not None:
        return visitor.known == condition.known
    if condition.all is not None:
        return all(holds(inner, visitor) for inner in condition.all)
    if condition.any is not None:
        return any(holds(inner, visitor) for inner in condition.any)
    assert condition.not_ is not None
    return not holds(condition.not_, visitor)


def _scheduled(rule: Rule, now: datetime) -> bool:
    return (rule.from_ is None or rule.from_ <= now) and (rule.until is None or now < rule.until)


def _in_context(slot: SlotDefinition, rule: Rule, context: Context | None) -> bool:
    if slot.kind != "product_list" or rule.context is None:
        return True
    if context is None:
        return False
    kind, value = context
    for raw in rule.context:
        rule_kind, rule_value = parse_context(raw)
        if rule_kind != kind:
            continue
        if kind == "category" and rule_value in category_levels(value):
            return True
        if kind == "query" and rule_value == value:
            return True
    return False


def answer(decision: Decision) -> dict[str, Any]:
    """A content slot's answer: {variant, content, reason, experiment}."""
    variant = decision.variant
    return {
        "variant": variant.key if variant is not None else None,
        "content": variant.content if variant is not None else {},
        "reason": decision.reason,
        "experiment": _experiment(decision),
    }


def listing(decision: Decision, available: dict[str, int]) -> dict[str, Any]:
    """A product_list slot's answer: the skus to pin in order and the boosts; with
    `bury_out_of_stock`, pinned skus with no stock left are not pinned."""
    variant = decision.variant
    pinned = list(variant.pin) if variant is not None else []
    bury = variant is not None and variant.bury_out_of_stock
    if bury:
        pinned = [sku for sku in pinned if available.get(sku, 1) > 0]
    return {
        "variant": variant.key if variant is not None else None,
        "pinned": pinned,
        "boosts": [b.model_dump(exclude_none=True) for b in variant.boost] if variant else [],
        "bury_out_of_stock": bury,
        "reason": decision.reason,
        "experiment": _experiment(decision),
    }


def _experiment(decision: Decision) -> dict[str, str] | None:
    if decision.experiment is None or decision.arm is None:
        return None
    return {"key": decision.experiment, "arm": decision.arm}
