"""Property-based tests of the identity graph over random identify/alias/track sequences."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from nerve.db.dialect import dialect_of
from nerve.db.engine import write_transaction
from nerve.errors import NotFound
from nerve.events.models import Event
from nerve.identity import service
from nerve.identity.models import Identifier, Merge, Profile
from nerve.profiles import service as profiles
from nerve.tracking.normalize import Envelope, normalize
from tests.factories import make_shop
from tests.integration.profiles.test_identity import settle

# Who owns what in the "no shared device" universe: a device and an email belong to one person.
OWNER = {"a1": "u1", "a2": "u1", "a3": "u2", "a4": "u3", "e1@x.io": "u1", "e2@x.io": "u2"}
USERS, ANONS, EMAILS = ["u1", "u2", "u3"], ["a1", "a2", "a3", "a4"], ["e1@x.io", "e2@x.io"]
T0 = datetime(2026, 1, 1, tzinfo=UTC)
PROPERTY_SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def _message(draw: st.DrawFn, consistent: bool, alias: bool = True) -> dict[str, Any]:
    kinds = ["identify", "identify", "track", "alias"] if alias else ["identify", "track"]
    kind = draw(st.sampled_from(kinds))
    user = draw(st.sampled_from([None, *USERS]))
    anon = draw(st.sampled_from([None, *ANONS]))
    email = draw(st.sampled_from([None, *EMAILS])) if kind == "identify" else None
    if consistent:  # every identifier in the message belongs to the same person
        owner = user or (OWNER.get(anon or "") if anon else None) or OWNER.get(email or "")
        anon = anon if anon is None or OWNER[anon] == owner else None
        email = email if email is None or OWNER[email] == owner else None
    if user is None and anon is None:
        anon = draw(st.sampled_from(ANONS)) if not consistent else None
        if anon is None:
            # Consistent: the email's owner, or the message would make a second person claim
            # an email that is another's — where the first claim rightly wins.
            owned = OWNER.get(email or "") if consistent else None
            user = owned or draw(st.sampled_from(USERS))
    message: dict[str, Any] = {
        "type": kind,
        "messageId": str(uuid.uuid4()),
        "timestamp": (T0 + timedelta(minutes=draw(st.integers(0, 10_000)))).isoformat(),
    }
    if user:
        message["userId"] = user
    if anon:
        message["anonymousId"] = anon
    if kind == "identify":
        message["traits"] = {"colour": draw(st.sampled_from(["red", "green", "blue"]))}
        if email:
            message["traits"]["email"] = email
    elif kind == "track":
        message["event"] = "Product Viewed"
    else:
        message["previousId"] = draw(st.sampled_from(ANONS + USERS))
        message.setdefault("userId", draw(st.sampled_from(USERS)))
    return message


def _ingest(engine: Engine, shop: Any, messages: list[dict[str, Any]]) -> None:
    source = shop.source_ids["web"]
    envelope = Envelope(shop.workspace_id, source, datetime.now(UTC))
    rows = [normalize(m, None, envelope, 32_000) for m in messages]
    with write_transaction(engine) as conn:
        conn.execute(
            dialect_of(conn).insert_ignoring_duplicates(
                Event.__table__, ["source_id", "message_id"]
            ),
            rows,
        )
    settle(engine)


def _state(engine: Engine, workspace_id: str) -> tuple[dict[tuple[str, str], str], dict[str, str]]:
    with engine.connect() as conn:
        idents = conn.execute(
            select(Identifier.type, Identifier.value, Profile.cluster_id)
            .join(Profile, Profile.id == Identifier.profile_id)
            .where(Identifier.workspace_id == workspace_id)
        ).all()
        events = conn.execute(
            select(Event.message_id, Profile.cluster_id)
            .join(Profile, Profile.id == Event.profile_id)
            .where(Event.workspace_id == workspace_id)
        ).all()
    return {(t, v): c for t, v, c in idents}, {m: c for m, c in events}


def _invariants(engine: Engine, workspace_id: str, sent: int) -> None:
    identifiers, events = _state(engine, workspace_id)
    assert len(events) == sent, "every event attached to exactly one profile"
    clusters: dict[str, list[tuple[str, str]]] = {}
    for ident, cluster in identifiers.items():
        clusters.setdefault(cluster, []).append(ident)
    for members in clusters.values():
        for unique_type in ("user_id", "email"):
            assert len({v for t, v in members if t == unique_type}) <= 1, members
    with engine.connect() as conn:
        unresolved = conn.scalar(
            select(func.count()).where(
                Event.profile_id.is_(None), Event.workspace_id == workspace_id
            )
        )
    assert unresolved == 0


@PROPERTY_SETTINGS
@given(messages=st.lists(_message(consistent=False), min_size=1, max_size=12))
def test_no_identifier_in_two_profiles_and_no_event_lost(
    engine: Engine, messages: list[dict[str, Any]]
) -> None:
    shop = make_shop(engine, workspace=f"p-{uuid.uuid4().hex[:8]}", kinds=("web",))
    _ingest(engine, shop, messages)
    _invariants(engine, shop.workspace_id, len(messages))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(
    before=st.lists(_message(consistent=False), min_size=2, max_size=10),
    link=st.tuples(st.sampled_from(USERS + EMAILS), st.sampled_from(ANONS)),
)
def test_unmerge_after_merge_restores_the_previous_state(
    engine: Engine, before: list[dict[str, Any]], link: tuple[str, str]
) -> None:
    known_id, anon = link
    linker: dict[str, Any] = {
        "type": "identify",
        "anonymousId": anon,
        "messageId": str(uuid.uuid4()),
    }
    if "@" in known_id:
        linker["traits"] = {"email": known_id}
    else:
        linker["userId"] = known_id
    shop = make_shop(engine, workspace=f"u-{uuid.uuid4().hex[:8]}", kinds=("web",))
    _ingest(engine, shop, before)
    identifiers_before, events_before = _state(engine, shop.workspace_id)
    with engine.connect() as conn:
        known = set(identifiers_before)
        log_size = conn.scalar(
            select(func.count()).select_from(Merge).where(Merge.workspace_id == shop.workspace_id)
        )
    _ingest(engine, shop, [linker])
    with engine.connect() as conn:
        new_log = conn.execute(
            select(Merge.id, Merge.kind, Merge.merged_id)
            .where(Merge.workspace_id == shop.workspace_id)
            .order_by(Merge.created_at, Merge.id)
        ).all()[log_size:]
    assume(new_log and all(kind == "merged" for _, kind, _ in new_log))
    with write_transaction(engine) as conn:
        for merge_id, _, merged_id in reversed(new_log):
            service.unmerge(conn, shop.workspace_id, merged_id, merge_id, actor="test")
    identifiers_after, events_after = _state(engine, shop.workspace_id)
    assert {i: c for i, c in identifiers_after.items() if i in known} == identifiers_before
    assert {m: c for m, c in events_after.items() if m in events_before} == events_before


def _traits_by_user(engine: Engine, workspace_id: str) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        found = {}
        for user in USERS:
            try:
                found[user] = profiles.lookup(conn, workspace_id, f"user_id:{user}").traits
            except NotFound:
                continue
    return found


@PROPERTY_SETTINGS
@given(
    messages=st.lists(_message(consistent=True, alias=False), min_size=2, max_size=8),
    data=st.data(),
)
def test_delivery_order_does_not_change_the_final_traits(
    engine: Engine, messages: list[dict[str, Any]], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(messages))
    results = []
    for order in (messages, shuffled):
        shop = make_shop(engine, workspace=f"o-{uuid.uuid4().hex[:8]}", kinds=("web",))
        for message in order:  # one by one: each arrival is resolved before the next
            _ingest(engine, shop, [{**message, "messageId": str(uuid.uuid4())}])
        results.append(_traits_by_user(engine, shop.workspace_id))
    assert results[0] == results[1]


def test_universe_is_consistent() -> None:
    assert all(OWNER[a] in USERS for a in itertools.chain(ANONS, EMAILS))
