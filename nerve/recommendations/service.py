"""Serving recommendations: per person (`for_person`), per product (`for_product`), and the
training queue. A handful of indexed reads per call (the person's profiles, purchases, latest
product events, open cart; the neighbours of their items; the offers): no model in memory, no
numpy, a few milliseconds however many profiles the shop has.

Only what the shop can sell now is recommended: active products with stock (a sku without
stock rows counts as available: a shop that syncs no inventory still gets recommendations).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from nerve.carts import service as carts
from nerve.catalog import service as catalog
from nerve.db.base import utcnow
from nerve.errors import InvalidInput, NotFound
from nerve.events import product_events
from nerve.identity import service as identity
from nerve.orders import purchases
from nerve.recommendations import popularity, scoring, store
from nerve.recommendations.interactions import CART_ADD, PURCHASE, VIEW
from nerve.recommendations.reading import ADDED, VIEWED, sku_of
from nerve.recommendations.schemas import KINDS, Recommended

MAX_LIMIT = 50
_LATEST_EVENTS = 50  # a person's latest product events that vote
_SOURCES = 15  # distinct items whose neighbours are read (the most recent)


def _offers(conn: Connection, workspace_id: str, skus: Iterable[str]) -> dict[str, catalog.Offer]:
    wanted = [s for s in set(skus) if s]
    return catalog.offers(conn, workspace_id, wanted) if wanted else {}


def _sellable(offer: catalog.Offer | None, category: str | None) -> bool:
    if offer is None or offer.status != "active":
        return False
    if offer.available is not None and offer.available <= 0:
        return False
    return category is None or category in popularity.categories_of(offer.category)


def _shown(
    ranked: Iterable[scoring.Ranked], offers: Mapping[str, catalog.Offer]
) -> list[Recommended]:
    found = []
    for item in ranked:
        offer = offers[item.sku]
        found.append(Recommended(
            sku=item.sku, product_id=offer.product_id, name=offer.name,
            price=str(offer.price), currency=offer.currency, url=offer.url,
            image_url=offer.image_url, score=item.score, reason=item.reason,
        ))  # fmt: skip
    return found


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit is 1 to {MAX_LIMIT}", details={"limit": limit})
    return limit


def _acts(
    conn: Connection, members: list[str], now: datetime
) -> tuple[list[scoring.Act], dict[str, float]]:
    """The person's voting acts (latest product events, purchases) and sku → days since they
    last bought it."""

    def days(at: datetime) -> float:
        return (now - at).total_seconds() / 86400

    bought = {sku: days(at) for sku, at in purchases.last_bought(conn, members).items()}
    acts = [scoring.Act(sku, PURCHASE, age) for sku, age in bought.items()]
    for name, at, properties in product_events.latest(conn, members, (*VIEWED, *ADDED),
                                                      _LATEST_EVENTS):  # fmt: skip
        sku = sku_of(properties)
        if sku is not None:
            acts.append(scoring.Act(sku, CART_ADD if name in ADDED else VIEW, days(at)))
    acts.sort(key=lambda act: act.age_days)
    return acts, bought


def for_person(
    conn: Connection, workspace_id: str, person_id: str | None, *, limit: int = 10,
    exclude_skus: Iterable[str] = (), category: str | None = None,
) -> list[Recommended]:  # fmt: skip
    """The person's top `limit`: due consumables, then the model's picks from their own
    recent acts, then bestsellers in the categories they shop (or `category`) and the shop's;
    never what they bought (unless due again), have in their open cart, or `exclude_skus`.
    An unknown or absent person gets the bestsellers."""
    _limit(limit)
    members = identity.members(conn, person_id) if person_id else []
    now = utcnow()
    acts, bought = _acts(conn, members, now) if members else ([], {})
    excluded = {*exclude_skus, *(carts.skus_in_open_cart(conn, workspace_id, members)
                                 if members else [])}  # fmt: skip
    sources = list(dict.fromkeys(act.sku for act in acts))[:_SOURCES]
    known = _offers(conn, workspace_id, [*sources, *bought])
    neighbours = store.neighbours(conn, workspace_id, "personal", sources)
    shopped = _shopped_categories(acts, known) if category is None else [category]
    lists = store.popular(conn, workspace_id, [*shopped, popularity.ALL])
    fill = [("popular_in_category", lists.get(c, [])) for c in shopped]
    if category is None:
        fill.append(("popular", lists.get(popularity.ALL, [])))
    voted = sorted(scoring.votes(acts, neighbours).items(), key=lambda kv: (-kv[1], kv[0]))
    order = [sku for sku, _ in voted] + [sku for _, listed in fill for sku, _ in listed]
    offers = _Offers(conn, workspace_id, known, order, batch=max(20, 2 * limit))
    usage = {sku: offer.usage_days for sku, offer in known.items()}
    ranked = scoring.rank(acts, neighbours, bought, usage, fill,
                          lambda sku: _sellable(offers.get(sku), category), limit,
                          excluded)  # fmt: skip
    return _shown(ranked, offers.found)


class _Offers:
    """Offers read as the ranking asks for them: a batch of the next candidates in the order
    they rank at a time, so a person with 600 candidate products costs one read of 20."""

    def __init__(
        self, conn: Connection, workspace_id: str, known: Mapping[str, catalog.Offer],
        order: list[str], batch: int,
    ) -> None:  # fmt: skip
        self._conn, self._workspace_id, self._batch = conn, workspace_id, batch
        self.found: dict[str, catalog.Offer] = dict(known)
        self._asked = set(known)
        self._order = order
        self._position: dict[str, int] = {}
        for index, sku in enumerate(order):
            self._position.setdefault(sku, index)

    def get(self, sku: str) -> catalog.Offer | None:
        if sku not in self._asked:
            start = self._position.get(sku, len(self._order))
            wanted = {sku, *self._order[start : start + self._batch]} - self._asked
            self.found.update(_offers(self._conn, self._workspace_id, wanted))
            self._asked |= wanted
        return self.found.get(sku)


def _shopped_categories(acts: list[scoring.Act], offers: Mapping[str, catalog.Offer]) -> list[str]:
    """The two categories (full paths) the person's acts weigh most in."""
    weights: dict[str, float] = {}
    for act in acts:
        offer = offers.get(act.sku)
        if offer is not None and offer.category:
            path = popularity.categories_of(offer.category)[-1]
            weights[path] = weights.get(path, 0.0) + act.weight
    return sorted(weights, key=lambda c: (-weights[c], c))[:2]


def for_product(
    conn: Connection, workspace_id: str, sku: str, *, kind: str = "bought_together",
    limit: int = 10,
) -> list[Recommended]:  # fmt: skip
    """What goes with `sku`: `bought_together` (in the same orders), `also_bought` (by the
    same people in other orders), `also_viewed` (by the same people). Empty until a training
    run has seen the sku with others."""
    if kind not in KINDS:
        raise InvalidInput(f"kind is one of {', '.join(KINDS)}", details={"kind": kind})
    _limit(limit)
    near = store.neighbours(conn, workspace_id, kind, [sku]).get(sku, [])
    offers = _offers(conn, workspace_id, [other for other, _ in near])
    ranked = [scoring.Ranked(other, round(score, 6), kind) for other, score in near
              if other != sku and _sellable(offers.get(other), None)]  # fmt: skip
    return _shown(ranked[:limit], offers)


def for_product_checked(
    conn: Connection, workspace_id: str, sku: str, *, kind: str, limit: int
) -> list[Recommended]:
    """`for_product` for the API: 404 for a sku the catalog does not have."""
    if sku not in _offers(conn, workspace_id, [sku]):
        raise NotFound(f"no product with sku {sku!r}", details={"sku": sku})
    return for_product(conn, workspace_id, sku, kind=kind, limit=limit)


def for_profile(
    conn: Connection, workspace_id: str, profile_id: str, *, limit: int
) -> list[Recommended]:
    """`for_person` for any profile id of the person (404 for one this workspace lacks)."""
    person = identity.person_of(conn, workspace_id, profile_id)
    return for_person(conn, workspace_id, person, limit=limit)


# --- training -----------------------------------------------------------------------------------


def queue_training(conn: Connection, workspace_id: str) -> dict[str, Any]:
    """Ask for a training run as soon as a worker looks (within seconds)."""
    store.request(conn, workspace_id, utcnow())
    return training_status(conn, workspace_id)


def training_status(conn: Connection, workspace_id: str, runs: int = 10) -> dict[str, Any]:
    planned = store.schedule(conn, workspace_id)
    return {
        "due_at": planned.due_at if planned is not None else None,
        "requested_at": planned.requested_at if planned is not None else None,
        "runs": store.runs(conn, workspace_id, runs),
    }
