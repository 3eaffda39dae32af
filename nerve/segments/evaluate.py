"""Is a person in a segment now, and when could the answer change by time alone?

Every condition answers (holds, due): `due` is the earliest later moment at which the clock
alone (a counted event leaving its window, a last order getting older than `within`, an
interest decaying below `min_score`) could change what it says. The segment's timer is the
earliest due of all its conditions — evaluated in full, not short-circuited, so no due is
missed — and re-evaluating at that moment is always correct, even when nothing changed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from nerve.profiles.computed import HALF_LIFE_DAYS
from nerve.segments.definition import (
    All,
    AnyOf,
    CartCondition,
    ComputedCondition,
    Condition,
    ConsentCondition,
    EventCondition,
    InterestCondition,
    Not,
    OrdersCondition,
    SegmentCondition,
    TraitCondition,
    window,
)
from nerve.segments.facts import PersonFacts

Result = tuple[bool, datetime | None]


@dataclass(frozen=True)
class Context:
    now: datetime
    member: Callable[[str], bool]  # is this person in the segment with this key now?


def evaluate(condition: Condition, facts: PersonFacts, context: Context) -> Result:
    match condition:
        case All(all=items):
            results = [evaluate(item, facts, context) for item in items]
            return all(r for r, _ in results), _earliest(d for _, d in results)
        case AnyOf(any=items):
            results = [evaluate(item, facts, context) for item in items]
            return any(r for r, _ in results), _earliest(d for _, d in results)
        case Not(not_=inner):
            held, due = evaluate(inner, facts, context)
            return not held, due
        case EventCondition():
            return _events(condition, facts, context.now)
        case TraitCondition():
            traits = facts.traits
            return _compare(condition, traits.get(condition.trait), condition.trait in traits), None
        case ComputedCondition():
            return _computed(condition, facts, context.now)
        case InterestCondition():
            return _interest(condition, facts, context.now)
        case ConsentCondition():
            return (condition.channel, condition.consent) in facts.consents, None
        case CartCondition():
            return _cart(condition, facts), None
        case OrdersCondition():
            return _orders(condition, facts, context.now)
        case SegmentCondition():
            return context.member(condition.segment), None
    raise TypeError(f"unknown condition {condition!r}")


def _earliest(dues: Any) -> datetime | None:
    found = [d for d in dues if d is not None]
    return min(found) if found else None


def _counted(
    moments: list[datetime], span: timedelta | None, now: datetime
) -> tuple[list[datetime], datetime | None]:
    """The moments inside the window ending now, and when that set next changes by time: the
    oldest leaves (its moment + the window), or a future-stamped one arrives."""
    future = [m for m in moments if m > now]
    if span is None:
        inside = [m for m in moments if m <= now]
        return inside, min(future) if future else None
    inside = [m for m in moments if now - span < m <= now]
    dues = [m + span for m in inside] + future
    return inside, min(dues) if dues else None


def _bounded(count: int, at_least: int | None, at_most: int | None) -> bool:
    if at_least is None and at_most is None:
        at_least = 1
    return (at_least is None or count >= at_least) and (at_most is None or count <= at_most)


def _events(condition: EventCondition, facts: PersonFacts, now: datetime) -> Result:
    wanted = condition.properties.items()
    moments = [
        at for name, at, properties in facts.events
        if name == condition.event and all(_same(properties.get(k), v) for k, v in wanted)
    ]  # fmt: skip
    inside, due = _counted(moments, window(condition.within), now)
    return _bounded(len(inside), condition.at_least, condition.at_most), due


def _same(found: Any, wanted: Any) -> bool:
    if isinstance(found, bool) or isinstance(wanted, bool):
        return found is wanted
    return bool(found == wanted)


def _orders(condition: OrdersCondition, facts: PersonFacts, now: datetime) -> Result:
    test = condition.orders
    moments = [at for at, _ in facts.orders]
    inside, due = _counted(moments, window(test.within), now)
    held = _bounded(len(inside), test.at_least, test.at_most) if (
        test.at_least is not None or test.at_most is not None or test.spent_at_least is None
    ) else True  # fmt: skip
    if test.spent_at_least is not None:
        kept = set(inside)
        spent = sum((t for at, t in facts.orders if at in kept and t is not None), Decimal(0))
        held = held and spent >= test.spent_at_least
    return held, due


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _compare(condition: Any, value: Any, present: bool) -> bool:
    if condition.exists is not None:
        return bool((present and value is not None) == condition.exists)
    if condition.equals is not None:
        return _equal(value, condition.equals)
    if condition.in_ is not None:
        return any(_equal(value, option) for option in condition.in_)
    if getattr(condition, "contains", None) is not None:
        if isinstance(value, str):
            return condition.contains.lower() in value.lower()
        return isinstance(value, list) and condition.contains in value
    number = _number(value)
    if number is None:
        return False
    bounds = (("gt", number.__gt__), ("gte", number.__ge__), ("lt", number.__lt__),
              ("lte", number.__le__))  # fmt: skip
    for name, test in bounds:
        limit = getattr(condition, name)
        if limit is not None:
            return bool(test(Decimal(str(limit))))
    return False


def _equal(value: Any, wanted: Any) -> bool:
    if isinstance(wanted, int | float) and not isinstance(wanted, bool):
        number = _number(value)
        return number is not None and number == Decimal(str(wanted))
    return _same(value, wanted)


def _computed(condition: ComputedCondition, facts: PersonFacts, now: datetime) -> Result:
    computed = facts.view.computed if facts.view else None
    value = getattr(computed, condition.computed) if computed is not None else None
    for name in ("within", "before"):
        text = getattr(condition, name)
        if text is None:
            continue
        if not isinstance(value, datetime):
            return False, None
        span = window(text)
        assert span is not None
        turns = value + span  # from then on it is no longer within / it is before
        held = now < turns if name == "within" else now >= turns
        return held, turns if turns > now else None
    return _compare(condition, value, value is not None), None


def _interest(condition: InterestCondition, facts: PersonFacts, now: datetime) -> Result:
    interests = facts.view.computed.interests if facts.view else {}
    score = interests.get(condition.interest)
    if score is None or score <= 0:
        return False, None
    if condition.top is not None:
        # Scores of one person decay at one rate: their order does not change with time.
        return condition.interest in list(interests)[: condition.top], None
    if condition.min_score is None:
        return True, None
    if score < condition.min_score:
        return False, None
    days = HALF_LIFE_DAYS * math.log2(score / condition.min_score)
    return True, now + timedelta(days=days, seconds=1)


def _cart(condition: CartCondition, facts: PersonFacts) -> bool:
    cart, test = facts.cart, condition.cart
    if cart is None:
        return False
    if test.value_at_least is not None and (cart.value is None or cart.value < test.value_at_least):
        return False
    if test.sku is not None and test.sku not in cart.skus:
        return False
    return test.category is None or test.category in cart.categories
