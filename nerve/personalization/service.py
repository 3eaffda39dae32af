"""What a head may show one visitor: their public segments, top interests, recommended
products, and a decision per requested slot — with the impression rows to log.

The answer carries nothing the head did not send (no traits, no identifiers): segment keys
the shop marked public, interest keys, products, and slot decisions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from nerve.catalog import service as catalog
from nerve.errors import InvalidInput
from nerve.personalization.decide import Context, Decision, answer, decide, listing
from nerve.personalization.definition import KEY, parse_context
from nerve.personalization.slots import SlotCache
from nerve.personalization.visitor import Visitor
from nerve.recommendations import service as recommender
from nerve.recommendations.schemas import Recommended

MAX_SLOTS = 20
MAX_RECOMMENDATIONS = recommender.MAX_LIMIT
TOP_INTERESTS = 5
_KEY = re.compile(KEY)
NO_VARIANT = "-"  # logged for a product_list slot that had nothing to pin or boost


@dataclass(frozen=True)
class Ask:
    anonymous_id: str | None
    user_id: str | None
    slots: tuple[str, ...]
    context: Context | None
    recommendations: int


def ask(
    anonymous_id: str | None, user_id: str | None, slots: str, context: str | None,
    recommendations: int,
) -> Ask:  # fmt: skip
    """The request's query, checked: InvalidInput naming each problem's parameter."""
    problems = []
    if not anonymous_id and not user_id:
        problems.append({"path": "anonymousId", "reason": "send anonymousId or userId (or both)"})
    names = tuple(dict.fromkeys(name.strip() for name in slots.split(",") if name.strip()))
    if len(names) > MAX_SLOTS:
        problems.append({"path": "slots", "reason": f"ask for at most {MAX_SLOTS} slots"})
    parsed = None
    if context is not None:
        try:
            parsed = parse_context(context)
        except ValueError as exc:
            problems.append({"path": "context", "reason": str(exc)})
    if problems:
        raise InvalidInput("the personalization request is invalid", details=problems)
    return Ask(anonymous_id or None, user_id or None, names, parsed, recommendations)


def personalize(
    conn: Connection, cache: SlotCache, workspace_id: str, asked: Ask, now: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The answer and the impressions to log."""
    visitor = Visitor(conn, workspace_id, asked.anonymous_id, asked.user_id, now)
    defined = cache.slots(conn, workspace_id)
    found: dict[str, Any] = {
        "person": {"known": visitor.known},
        "segments": [s.key for s in visitor.segments if s.public],
        "interests": [{"key": key, "score": round(score, 4)}
                      for key, score in list(visitor.interests.items())[:TOP_INTERESTS]],
        "recommendations": _recommended(conn, workspace_id, visitor, asked.recommendations),
        "slots": {}, "product_lists": {}, "unknown_slots": [],
    }  # fmt: skip
    logged = []
    for name in asked.slots:
        slot = defined.get(name) if _is_key(name) else None
        if slot is None:
            found["unknown_slots"].append(name)
            continue
        decision = decide(slot, visitor, asked.context)
        if slot.kind == "content":
            found["slots"][name] = answer(decision)
        else:
            found["product_lists"][name] = listing(decision, _stock(conn, workspace_id, decision))
        logged.append(_impression(workspace_id, visitor, decision))
    return found, logged


def _is_key(name: str) -> bool:
    return _KEY.fullmatch(name) is not None


def _stock(conn: Connection, workspace_id: str, decision: Decision) -> dict[str, int]:
    variant = decision.variant
    if variant is None or not variant.bury_out_of_stock or not variant.pin:
        return {}
    return catalog.available_by_sku(conn, workspace_id, variant.pin)


def _recommended(
    conn: Connection, workspace_id: str, visitor: Visitor, limit: int
) -> list[Recommended]:
    if limit <= 0:
        return []
    return recommender.for_person(conn, workspace_id, visitor.person_id, limit=limit)


def _impression(workspace_id: str, visitor: Visitor, decision: Decision) -> dict[str, Any]:
    return {
        "workspace_id": workspace_id, "slot_key": decision.slot.key,
        "person_id": visitor.person_id, "anonymous_id": visitor.anonymous_id,
        "user_id": visitor.user_id,
        "variant": decision.variant.key if decision.variant is not None else NO_VARIANT,
        "experiment": decision.experiment, "arm": decision.arm, "at": visitor.now,
    }  # fmt: skip
