"""A person's interests alone, read in one query: what the personalization API needs on every
page render, without the rest of the person view (traits, orders, identifiers)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, select

from nerve.profiles.computed import decayed_scores
from nerve.profiles.models import ProfileAttributes


def interests_of(conn: Connection, profile_ids: Sequence[str], now: datetime) -> dict[str, float]:
    """Decayed interest scores summed over the profiles (a person's), highest first, as the
    person view's `computed.interests` ranks them."""
    if not profile_ids:
        return {}
    totals: dict[str, float] = {}
    query = select(ProfileAttributes.interests).where(
        ProfileAttributes.profile_id.in_(list(profile_ids))
    )
    for (stored,) in conn.execute(query):
        for key, score in decayed_scores(stored or {}, now).items():
            totals[key] = totals.get(key, 0.0) + score
    return dict(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))
