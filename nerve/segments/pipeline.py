"""Pipeline consumer: each attached batch re-evaluates only the segments whose inputs it
changed, for only the people it touched.

An event named `Product Viewed` re-evaluates the segments that count `Product Viewed` events, or
read interests or first/last seen (which every event moves); a trait changed by the batch
re-evaluates the segments reading that trait; orders and cart events the ones reading orders or
the cart; a merge re-evaluates the survivor for every segment and removes the merged person
(who is no person any more) from theirs. Segments referencing a re-evaluated one follow it.
Nerve's own `Segment Entered` / `Segment Exited` events are no input (they would loop).
"""

from __future__ import annotations

import structlog
from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from nerve.identity import service as identity
from nerve.identity.attached import AttachedBatch
from nerve.profiles.computed import INTEREST_WEIGHTS
from nerve.segments import engine
from nerve.segments.active import ActiveSegment, active_segments, with_dependents
from nerve.segments.definition import Inputs
from nerve.segments.erase import forget

log = structlog.get_logger(__name__)

_ORDER_EVENTS = frozenset({"Order Completed", "Order Cancelled", "Order Refunded"})
_CART_EVENTS = frozenset({"Product Added", "Product Removed", "Cart Merged", "Order Completed"})
_ORDER_COMPUTED = {"order_count", "total_spent", "average_order_value", "last_order_at"}
_SEEN_COMPUTED = {"first_seen", "last_seen", "timezone"}


class Signals:
    """What a batch changed for one person."""

    def __init__(self) -> None:
        self.events: set[str] = set()
        self.traits: set[str] = set()
        self.computed: set[str] = set()
        self.interests = self.cart = self.orders = self.consent = self.everything = False

    def touches(self, reads: Inputs) -> bool:
        return (
            self.everything
            or bool(reads.events & self.events)
            or bool(reads.traits & self.traits)
            or bool(reads.computed & self.computed)
            or (reads.interests and self.interests)
            or (reads.cart and self.cart)
            or (reads.orders and self.orders)
            or (reads.consent and self.consent)
        )


def update_segments(conn: Connection, batch: AttachedBatch) -> None:
    segments = active_segments(conn, batch.workspace_id)
    merged = {m.merged_id for m in batch.merged}
    if not segments:
        return
    try:
        with conn.begin_nested():
            _update(conn, batch, segments, merged)
    except OperationalError:
        raise  # the database is in trouble: the whole batch is retried
    except Exception:
        # A segments bug must not stop identity resolution; the batch's events are attached
        # and the next event (or a timer) of these people evaluates them again.
        log.exception("segments_update_failed", workspace_id=batch.workspace_id)


def _update(conn: Connection, batch: AttachedBatch, segments: list[ActiveSegment],
            merged: set[str]) -> None:  # fmt: skip
    signals = _signals(batch)
    for survivor in {m.survivor_id for m in batch.merged}:
        signals.setdefault(survivor, Signals()).everything = True
    if merged:
        forget(conn, batch.workspace_id, sorted(merged), batch.dialect.now(conn), log_exit=True)
    wanted: dict[str, set[str]] = {}
    for person, found in signals.items():
        if person in merged:
            continue
        keys = with_dependents(segments, (s.key for s in segments if found.touches(s.inputs)))
        if keys:
            wanted[person] = keys
    if not wanted:
        return
    members = {p: sorted(batch.people[p]) for p in wanted if p in batch.people}
    missing = [p for p in wanted if p not in members]
    if missing:
        members |= identity.members_of(conn, missing)
    engine.reevaluate(conn, batch.workspace_id, segments, wanted, members, batch.rules,
                      batch.dialect.now(conn))  # fmt: skip


def _signals(batch: AttachedBatch) -> dict[str, Signals]:
    found: dict[str, Signals] = {}
    for event in batch.events:
        payload = event.payload
        name = payload.get("event") if payload.get("type") == "track" else None
        if name in engine.OWN_EVENTS:
            continue
        signals = found.setdefault(event.person_id, Signals())
        signals.computed |= _SEEN_COMPUTED
        if isinstance(name, str):
            signals.events.add(name)
            signals.interests |= name in INTEREST_WEIGHTS
            if name in _ORDER_EVENTS:
                signals.orders = True
                signals.computed |= _ORDER_COMPUTED
            signals.cart |= name in _CART_EVENTS
        if payload.get("type") in ("identify", "alias") or (
            payload.get("userId") and payload.get("anonymousId")
        ):
            # A login may bring a cart, an email (and its consent) to the person.
            signals.cart = signals.consent = True
    for person, traits in batch.traits_changed.items():
        signals = found.setdefault(person, Signals())
        signals.traits |= traits
        signals.consent |= bool({"email", "phone"} & traits)
    for relinked in batch.relinked:
        for person in (relinked.from_person, relinked.to_person):
            found.setdefault(person, Signals()).everything = True
    return found
