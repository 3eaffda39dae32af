"""Attach each stored event to a profile, merging, refusing or re-linking as the rules say.

Runs after the tracking commit, in batches, oldest unresolved event first. One resolver at a
time per database: PostgreSQL takes an advisory lock, SQLite's write lock does the same job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, update

from nerve.db import locks
from nerve.db.dialect import unresolved_events
from nerve.db.engine import write_transaction
from nerve.db.locks import transaction_lock
from nerve.events.models import Event
from nerve.flows import routing as flows
from nerve.identity.extract import Ident, alias_previous, identifiers
from nerve.identity.graph import Graph
from nerve.identity.rules import load_rules
from nerve.profiles import service as profiles


@dataclass(frozen=True)
class PendingEvent:
    id: int
    workspace_id: str
    source_id: str
    timestamp: datetime
    received_at: datetime
    payload: dict[str, Any]


def lock_identity(conn: Connection, wait: bool = True) -> bool:
    """Serialise identity-graph writers across processes (resolver, unmerge, erase)."""
    return transaction_lock(conn, locks.IDENTITY_GRAPH, wait=wait)


def resolve_pending(engine: Engine, limit: int = 500) -> list[PendingEvent]:
    """Resolve up to `limit` unresolved events in one transaction; returns them."""
    with write_transaction(engine) as conn:
        if not lock_identity(conn, wait=False):
            return []
        columns = [Event.id, Event.workspace_id, Event.source_id, Event.timestamp,
                   Event.received_at, Event.payload]  # fmt: skip
        rows = unresolved_events(conn, columns, limit)
        events = [PendingEvent(*row) for row in rows]
        by_workspace: dict[str, list[PendingEvent]] = {}
        for event in events:
            by_workspace.setdefault(event.workspace_id, []).append(event)
        for workspace_id, batch in by_workspace.items():
            _resolve_batch(conn, workspace_id, batch)
        return events


def _resolve_batch(conn: Connection, workspace_id: str, events: list[PendingEvent]) -> None:
    rules = load_rules(conn, workspace_id)
    graph = Graph(conn, workspace_id, rules)
    mentioned = [identifiers(event.payload, rules) for event in events]
    graph.preload(ident for found in mentioned for ident in found)
    graph.preload(_alias_candidates(events))
    attached = [
        (event, resolve_event(graph, event.id, event.payload, idents))
        for event, idents in zip(events, mentioned, strict=True)
    ]
    graph.flush()
    conn.execute(
        update(Event).where(Event.id == bindparam("b_id")).values(profile_id=bindparam("b_leaf")),
        [{"b_id": event.id, "b_leaf": leaf} for event, leaf in attached],
    )
    profiles.apply_events(conn, workspace_id, attached, rules)
    # Same transaction: an attached event and the runs it starts or steers commit together.
    flows.route_events(
        conn,
        workspace_id,
        [(event.id, event.payload, graph.cluster_of(leaf)) for event, leaf in attached],
    )


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
