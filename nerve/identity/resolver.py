"""Attach each stored event to a profile, merging, refusing or re-linking as the rules say, then
hand the attached batch to the pipeline's consumers in the same transaction.

Runs after the tracking commit, in batches, oldest unresolved event first. Several resolvers
may run at once on PostgreSQL (`nerve worker` on many machines): each claims different events
(SKIP LOCKED) and locks the identifiers and the people its batch touches, so two resolvers never
decide about the same identifier or person at once (see `_lock_people`). On SQLite the write
lock makes one resolver run at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine

from nerve.db.dialect import Dialect, dialect_of
from nerve.db.engine import write_transaction
from nerve.db.locks import named_key
from nerve.events import queue
from nerve.events.queue import PendingEvent
from nerve.identity.attached import AttachedBatch, AttachedEvent, Consumer, Merged, Relinked
from nerve.identity.extract import Ident, alias_previous, identifiers
from nerve.identity.graph import Graph
from nerve.identity.rules import MergeRules, load_rules

# Held (as a session lock) from claiming a batch until its identifiers and people are locked:
# a resolver that claimed older events holds their people before a later one can ask, so each
# person's events are attached — and routed into flows — in the order they arrived.
_CLAIM_LOCK = 7_417_002
# A person whose identifiers keep moving under us (merged again and again by other resolvers
# while we wait) is retried with the next batch rather than chased for ever.
_MAX_LOCK_ROUNDS = 8


def resolve_pending(
    engine: Engine, consumers: Sequence[Consumer], limit: int = 500
) -> list[PendingEvent]:
    """Resolve up to `limit` unresolved events in one transaction; returns them."""
    dialect = dialect_of(engine)
    with write_transaction(engine) as conn:
        with _claiming(conn, dialect):
            events = queue.claim_unresolved(conn, dialect, limit)
            by_workspace: dict[str, list[PendingEvent]] = {}
            for event in events:
                by_workspace.setdefault(event.workspace_id, []).append(event)
            graphs = {
                workspace_id: _locked_graph(conn, dialect, workspace_id, batch)
                for workspace_id, batch in sorted(by_workspace.items())
            }
        for workspace_id, batch in by_workspace.items():
            graph, mentioned = graphs[workspace_id]
            _resolve_batch(conn, dialect, graph, batch, mentioned, consumers)
        return events


@contextmanager
def _claiming(conn: Connection, dialect: Dialect) -> Iterator[None]:
    if not dialect.concurrent_writers:
        yield
        return
    conn.exec_driver_sql("SELECT pg_advisory_lock(%s)", (_CLAIM_LOCK,))
    try:
        yield
    finally:
        conn.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (_CLAIM_LOCK,))


def _mentioned(events: list[PendingEvent], rules: MergeRules) -> list[list[Ident]]:
    return [identifiers(event.payload, rules) for event in events]


def _locked_graph(
    conn: Connection, dialect: Dialect, workspace_id: str, events: list[PendingEvent]
) -> tuple[Graph, list[list[Ident]]]:
    """The graph of every person the batch touches, read after locking them, and the
    identifiers each event carries.

    Identifiers are locked first (two resolvers must not create the same new identifier), then
    the people they belong to. A person can change between reading and locking (another
    resolver merged it into someone else and committed), so the graph is read again after each
    round of locks until every person in it is locked. Everyone locks identifiers before people
    and each set in ascending order, so resolvers, unmerges and erasures never deadlock.
    """
    rules = load_rules(conn, workspace_id)
    mentioned = _mentioned(events, rules)
    wanted = {i for found in mentioned for i in found}
    wanted |= set(_alias_candidates(events))
    dialect.lock_all(conn, (named_key(workspace_id, i.type, i.value) for i in wanted))
    locked: set[str] = set()
    for _ in range(_MAX_LOCK_ROUNDS):
        graph = Graph(conn, workspace_id, rules)
        graph.preload(wanted)
        if not dialect.concurrent_writers or graph.roots <= locked:
            return graph, mentioned
        lock_people(conn, dialect, workspace_id, graph.roots - locked)
        locked |= graph.roots
    raise PeopleKeptMoving(f"the people of {len(events)} events kept changing; retrying")


class PeopleKeptMoving(Exception):
    """Other resolvers merged the batch's people faster than this one could lock them."""


def lock_people(conn: Connection, dialect: Dialect, workspace_id: str, roots: set[str]) -> None:
    """Lock people (merge-tree roots) for this transaction: resolvers, unmerge and erase."""
    dialect.lock_all(conn, (named_key(workspace_id, "person", root) for root in roots))


def _resolve_batch(
    conn: Connection,
    dialect: Dialect,
    graph: Graph,
    events: list[PendingEvent],
    mentioned: list[list[Ident]],
    consumers: Sequence[Consumer],
) -> None:
    leaves = [
        resolve_event(graph, event.id, event.payload, idents)
        for event, idents in zip(events, mentioned, strict=True)
    ]
    graph.flush()
    queue.attach(
        conn, dialect, {event.id: leaf for event, leaf in zip(events, leaves, strict=True)}
    )
    attached = [
        AttachedEvent(e.id, e.source_id, e.timestamp, e.received_at, e.payload, leaf,
                      graph.cluster_of(leaf))
        for e, leaf in zip(events, leaves, strict=True)
    ]  # fmt: skip
    batch = AttachedBatch(
        workspace_id=graph.workspace_id,
        rules=graph.rules,
        dialect=dialect,
        events=attached,
        people={person: graph.members(person) for person in {e.person_id for e in attached}},
        merged=[Merged(survivor, merged) for survivor, merged in graph.merged],
        relinked=[Relinked(kind, a, b) for kind, a, b in graph.relinked],
    )
    for consumer in consumers:
        consumer.consume(conn, batch)


def _alias_candidates(events: list[PendingEvent]) -> list[Ident]:
    found = []
    for event in events:
        previous = alias_previous(event.payload)
        if previous is not None:
            found += [Ident("user_id", previous), Ident("anonymous_id", previous)]
    return found


def _alias_ident(graph: Graph, previous: str) -> Ident:
    """Segment's previousId is an earlier user id or anonymous id; prefer what we know."""
    as_user = Ident("user_id", previous)
    known = graph.lookup([as_user, Ident("anonymous_id", previous)])
    return as_user if as_user in known else Ident("anonymous_id", previous)


def resolve_event(
    graph: Graph, event_id: int | None, payload: dict[str, Any], idents: list[Ident]
) -> str:
    """The leaf profile this event belongs to, updating the graph on the way."""
    idents = list(idents)
    previous = alias_previous(payload)
    if previous is not None:
        alias = _alias_ident(graph, previous)
        if alias not in idents:
            idents.append(alias)
    known = graph.lookup(idents)
    leaf = _home(graph, idents, known)
    for ident in idents[1:]:
        if ident in known:
            _join_known(graph, ident, known[ident], leaf, event_id)
        else:
            _join_new(graph, ident, leaf, event_id)
    return leaf


def _home(graph: Graph, idents: list[Ident], known: dict[Ident, str]) -> str:
    """The leaf of the event's strongest identifier, creating a profile if it is new."""
    strongest = idents[0]
    if strongest in known:
        return known[strongest]
    for ident in idents[1:]:
        if ident in known:
            cluster = graph.cluster(graph.cluster_of(known[ident]))
            if graph.conflict(cluster, {strongest}) is None:
                graph.add_identifier(strongest, known[ident])
                known[strongest] = known[ident]
                return known[ident]
    leaf = graph.create_profile()
    graph.add_identifier(strongest, leaf)
    known[strongest] = leaf
    return leaf


def _join_known(
    graph: Graph, ident: Ident, other_leaf: str, leaf: str, event_id: int | None
) -> None:
    home_root, other_root = graph.cluster_of(leaf), graph.cluster_of(other_leaf)
    if home_root == other_root:
        return
    home, other = graph.cluster(home_root), graph.cluster(other_root)
    reason = graph.conflict(home, other.identifiers)
    rule = f"shared {ident.type}"
    if reason is None:
        survivor, merged = graph.merge(home, other)
        graph.log(
            "merged", survivor, merged, event_id, rule,
            f"the event links them by {ident.type}", _detail(ident),
        )  # fmt: skip
        return
    graph.log("rejected", home_root, other_root, event_id, rule, reason, _detail(ident))
    if ident.type not in graph.rules.unique_types:
        # A shared device (kiosk, store tablet, family laptop): from now on it is this person's.
        graph.relink(ident, leaf)
        graph.log(
            "relinked",
            home_root,
            other_root,
            event_id,
            rule,
            f"{ident.type} moved to the profile that signed in on it last",
            _detail(ident),
        )


def _join_new(graph: Graph, ident: Ident, leaf: str, event_id: int | None) -> None:
    home_root = graph.cluster_of(leaf)
    reason = graph.conflict(graph.cluster(home_root), {ident})
    if reason is None:
        graph.add_identifier(ident, leaf)
        return
    graph.log(
        "rejected", home_root, home_root, event_id, f"new {ident.type}", reason, _detail(ident)
    )


def _detail(ident: Ident) -> dict[str, Any]:
    # The identifier itself explains the merge; the log is erased with the person (GDPR).
    return {"identifier": {"type": ident.type, "value": ident.value}}
