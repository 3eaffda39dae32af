"""Who is asking, as the identity graph knows them now, and what rules may test about them —
each fact read only when a rule (or the answer) needs it, at most once per request.

The head sends an anonymous id and/or a user id; the user id's person wins when identity knows
it, else the anonymous id's. Nothing waits for the resolver: a device whose events are not
resolved yet is answered from what is known at this moment.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import Connection

from nerve.carts import owners as cart_owners
from nerve.carts import store as cart_store
from nerve.catalog import service as catalog
from nerve.errors import NotFound
from nerve.identity import service as identity
from nerve.identity.rules import MergeRules
from nerve.profiles.interests import interests_of
from nerve.segments import membership
from nerve.segments.membership import SegmentRef

_BUILT_IN = MergeRules()  # user_id and anonymous_id are built-in types: no rules to read


class Visitor:
    def __init__(
        self, conn: Connection, workspace_id: str, anonymous_id: str | None,
        user_id: str | None, now: datetime,
    ) -> None:  # fmt: skip
        self._conn = conn
        self.workspace_id = workspace_id
        self.anonymous_id = anonymous_id
        self.user_id = user_id
        self.now = now
        self.person_id = self._person()

    def _person(self) -> str | None:
        for kind, value in (("user_id", self.user_id), ("anonymous_id", self.anonymous_id)):
            if value is None:
                continue
            with suppress(NotFound):
                return identity.lookup(self._conn, self.workspace_id, kind, value, _BUILT_IN)
        return None

    @property
    def known(self) -> bool:
        return self.person_id is not None

    @property
    def assignment_id(self) -> str:
        """Whose bucket an experiment uses: the person's (the same on every device), else the
        id the head sent."""
        if self.person_id is not None:
            return self.person_id
        if self.user_id is not None:
            return f"user_id:{self.user_id}"
        return f"anonymous_id:{self.anonymous_id}"

    @cached_property
    def segments(self) -> list[SegmentRef]:
        if self.person_id is None:
            return []
        return membership.segments_of(self._conn, self.workspace_id, self.person_id)

    @cached_property
    def segment_keys(self) -> frozenset[str]:
        return frozenset(s.key for s in self.segments)

    @cached_property
    def interests(self) -> dict[str, float]:
        """Interest key → decayed score, highest first."""
        if self.person_id is None:
            return {}
        profiles = identity.members(self._conn, self.person_id)
        return interests_of(self._conn, profiles, self.now)

    @cached_property
    def interest_ranks(self) -> dict[str, int]:
        return {key: rank for rank, key in enumerate(self.interests, start=1)}

    @cached_property
    def cart_lines(self) -> list[Any]:
        """The lines of the visitor's open cart (opened under the ids the head sent, or any
        other identifier of their person)."""
        pairs = [("user_id", self.user_id)] if self.user_id is not None else []
        if self.anonymous_id is not None:
            pairs.append(("anonymous_id", self.anonymous_id))
        cart = cart_owners.open_cart(self._conn, self.workspace_id, pairs)
        return [] if cart is None else cart_store.lines(self._conn, cart.id)

    @cached_property
    def cart_categories(self) -> frozenset[str]:
        """Every level of the cart's products' categories ("Shoes > Running": shoes, running,
        and the whole path), case folded."""
        found: set[str] = set()
        for line in self.cart_lines:
            with suppress(NotFound):
                path = catalog.product(self._conn, self.workspace_id, line.sku).get("category")
                if isinstance(path, str) and path.strip():
                    found.update(category_levels(path))
        return frozenset(found)


def category_levels(path: str) -> set[str]:
    """A category path's levels and the path itself, folded for matching."""
    levels = [" ".join(level.split()).casefold() for level in path.split(">")]
    return {level for level in levels if level} | {" > ".join(levels)}
