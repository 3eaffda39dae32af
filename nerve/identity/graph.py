"""The identity graph of one workspace, held in memory for one batch of events.

`preload` reads every identifier the batch mentions and the whole person (cluster) behind each
in three queries; the resolver then decides in memory, and `flush` writes what changed with a
handful of executemany statements. Unmerges (rare, by a person) use `split_off` directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from nerve.db.base import insert_rows, new_id, table, utcnow
from nerve.identity.extract import Ident
from nerve.identity.models import Identifier, Merge, Profile
from nerve.identity.rules import MergeRules

_CHUNK = 2000  # identifiers per lookup query (SQLite allows 32,766 bound variables)


@dataclass
class Cluster:
    """One person: a merge tree of profiles and every identifier they hold."""

    root: str
    created_at: datetime
    members: set[str] = field(default_factory=set)
    identifiers: set[Ident] = field(default_factory=set)

    def values(self, identifier_type: str) -> set[str]:
        return {i.value for i in self.identifiers if i.type == identifier_type}

    def best_rank(self, rules: MergeRules) -> int:
        return min((rules.rank(i.type) for i in self.identifiers), default=len(rules.priority))


class Graph:
    def __init__(self, conn: Connection, workspace_id: str, rules: MergeRules) -> None:
        self.conn = conn
        self.workspace_id = workspace_id
        self.rules = rules
        self._leaf_of: dict[Ident, str] = {}
        self._looked_up: set[Ident] = set()
        self._cluster_of: dict[str, str] = {}
        self._clusters: dict[str, Cluster] = {}
        self._new_profiles: list[dict[str, Any]] = []
        self._new_identifiers: dict[Ident, str] = {}
        self._relinks: dict[Ident, str] = {}
        self._parents: dict[str, str] = {}
        self._moved: set[str] = set()
        self._log: list[dict[str, Any]] = []

    # --- reading -----------------------------------------------------------------------------

    @property
    def roots(self) -> set[str]:
        """The people loaded so far."""
        return set(self._clusters)

    def members(self, root: str) -> frozenset[str]:
        return frozenset(self._clusters[root].members)

    @property
    def merged(self) -> list[tuple[str, str]]:
        """(survivor, merged) of every merge decided in this batch."""
        return [
            (row["survivor_id"], row["merged_id"]) for row in self._log if row["kind"] == "merged"
        ]

    @property
    def relinked(self) -> list[tuple[str, str, str]]:
        """(identifier type, from person, to person) of every device re-link in this batch."""
        return [
            (row["details"]["identifier"]["type"], row["merged_id"], row["survivor_id"])
            for row in self._log
            if row["kind"] == "relinked"
        ]

    def preload(self, idents: Iterable[Ident]) -> None:
        wanted = [i for i in set(idents) if i not in self._looked_up]
        self._looked_up.update(wanted)
        by_type: dict[str, list[str]] = {}
        for ident in wanted:
            by_type.setdefault(ident.type, []).append(ident.value)
        roots: set[str] = set()
        # One `type = ? AND value IN (...)` per type: a row-value IN list would only use the
        # index's workspace_id prefix on SQLite and scan every identifier of the workspace.
        for identifier_type, values in by_type.items():
            for start in range(0, len(values), _CHUNK):
                roots.update(
                    self.conn.scalars(
                        select(Profile.cluster_id)
                        .join(Identifier, Profile.id == Identifier.profile_id)
                        .where(
                            Identifier.workspace_id == self.workspace_id,
                            Identifier.type == identifier_type,
                            Identifier.value.in_(values[start : start + _CHUNK]),
                        )
                    )
                )
        self._load_clusters(roots - set(self._clusters))

    def _load_clusters(self, roots: set[str]) -> None:
        if not roots:
            return
        for member in self.conn.execute(
            select(Profile.id, Profile.cluster_id, Profile.created_at).where(
                Profile.cluster_id.in_(roots)
            )
        ):
            cluster = self._clusters.setdefault(
                member.cluster_id, Cluster(member.cluster_id, member.created_at)
            )
            cluster.members.add(member.id)
            self._cluster_of[member.id] = member.cluster_id
            if member.id == member.cluster_id:
                cluster.created_at = member.created_at
        for row in self.conn.execute(
            select(Identifier.type, Identifier.value, Identifier.profile_id, Profile.cluster_id)
            .join(Profile, Profile.id == Identifier.profile_id)
            .where(Profile.cluster_id.in_(roots))
        ):
            ident = Ident(row.type, row.value)
            self._leaf_of[ident] = row.profile_id
            self._looked_up.add(ident)
            self._clusters[row.cluster_id].identifiers.add(ident)

    def lookup(self, idents: list[Ident]) -> dict[Ident, str]:
        """Known identifiers → the leaf profile that holds each."""
        self.preload(idents)
        return {i: self._leaf_of[i] for i in idents if i in self._leaf_of}

    def cluster_of(self, profile_id: str) -> str:
        return self._cluster_of[profile_id]

    def cluster(self, root: str) -> Cluster:
        return self._clusters[root]

    def conflict(self, cluster: Cluster, idents: set[Ident]) -> str | None:
        """Why `idents` may not join `cluster`, or None if they may."""
        for identifier_type in self.rules.unique_types:
            mine = cluster.values(identifier_type)
            theirs = {i.value for i in idents if i.type == identifier_type}
            if mine and theirs and mine != theirs:
                return f"both hold a different {identifier_type}"
        anonymous = cluster.values("anonymous_id") | {
            i.value for i in idents if i.type == "anonymous_id"
        }
        if len(anonymous) > self.rules.max_anonymous_ids:
            return f"more than {self.rules.max_anonymous_ids} anonymous ids"
        return None

    # --- changing (in memory until flush) ----------------------------------------------------

    def create_profile(self) -> str:
        profile_id = new_id("prf")
        now = utcnow()
        self._new_profiles.append(
            {
                "id": profile_id,
                "workspace_id": self.workspace_id,
                "cluster_id": profile_id,
                "created_at": now,
            }
        )
        self._clusters[profile_id] = Cluster(profile_id, now, {profile_id})
        self._cluster_of[profile_id] = profile_id
        return profile_id

    def add_identifier(self, ident: Ident, leaf: str) -> None:
        self._leaf_of[ident] = leaf
        self._looked_up.add(ident)
        self._clusters[self._cluster_of[leaf]].identifiers.add(ident)
        self._new_identifiers[ident] = leaf

    def relink(self, ident: Ident, leaf: str) -> None:
        self._clusters[self._cluster_of[self._leaf_of[ident]]].identifiers.discard(ident)
        self._clusters[self._cluster_of[leaf]].identifiers.add(ident)
        self._leaf_of[ident] = leaf
        if ident in self._new_identifiers:
            self._new_identifiers[ident] = leaf
        else:
            self._relinks[ident] = leaf

    def merge(self, a: Cluster, b: Cluster) -> tuple[str, str]:
        """Merge two people; returns (survivor, merged). Stronger identifiers, then age, win."""
        survivor, merged = sorted(
            (a, b), key=lambda c: (c.best_rank(self.rules), c.created_at, c.root)
        )
        self._parents[merged.root] = survivor.root
        for member in merged.members:
            self._cluster_of[member] = survivor.root
        self._moved |= merged.members
        survivor.members |= merged.members
        survivor.identifiers |= merged.identifiers
        del self._clusters[merged.root]
        return survivor.root, merged.root

    def log(
        self,
        kind: str,
        survivor: str,
        merged: str,
        event_id: int | None,
        rule: str,
        reason: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        self._log.append(
            merge_record(self.workspace_id, kind, survivor, merged, event_id, rule, reason, details)
        )

    # --- writing -----------------------------------------------------------------------------

    def flush(self) -> None:
        conn = self.conn
        if self._new_profiles:
            insert_rows(conn, Profile, self._new_profiles)
        if self._new_identifiers:
            conn.execute(
                insert(table(Identifier)),
                [
                    {
                        "workspace_id": self.workspace_id,
                        "type": i.type,
                        "value": i.value,
                        "profile_id": leaf,
                    }
                    for i, leaf in self._new_identifiers.items()
                ],
            )
        if self._relinks:
            conn.execute(
                update(Identifier)
                .where(
                    Identifier.workspace_id == self.workspace_id,
                    Identifier.type == bindparam("b_type"),
                    Identifier.value == bindparam("b_value"),
                )
                .values(profile_id=bindparam("b_leaf")),
                [
                    {"b_type": i.type, "b_value": i.value, "b_leaf": leaf}
                    for i, leaf in self._relinks.items()
                ],
            )
        if self._parents:
            conn.execute(
                update(Profile)
                .where(Profile.id == bindparam("b_id"))
                .values(merged_into=bindparam("b_parent")),
                [{"b_id": child, "b_parent": parent} for child, parent in self._parents.items()],
            )
        if self._moved:
            conn.execute(
                update(Profile)
                .where(Profile.id == bindparam("b_id"))
                .values(cluster_id=bindparam("b_root")),
                [{"b_id": member, "b_root": self._cluster_of[member]} for member in self._moved],
            )
        if self._log:
            insert_rows(conn, Merge, self._log)


def merge_record(
    workspace_id: str,
    kind: str,
    survivor: str,
    merged: str,
    event_id: int | None,
    rule: str,
    reason: str,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": new_id("mrg"),
        "workspace_id": workspace_id,
        "kind": kind,
        "survivor_id": survivor,
        "merged_id": merged,
        "event_id": event_id,
        "rule": rule,
        "reason": reason[:500],
        "details": details or {},
        "created_at": utcnow(),
    }


def split_off(conn: Connection, merged_root: str) -> list[str]:
    """Cut `merged_root` out of its tree; it and its own subtree form a person again."""
    cluster = conn.scalar(select(Profile.cluster_id).where(Profile.id == merged_root))
    members = conn.execute(
        select(Profile.id, Profile.merged_into).where(Profile.cluster_id == cluster)
    ).all()
    children: dict[str, list[str]] = {}
    for member in members:
        if member.merged_into:
            children.setdefault(member.merged_into, []).append(member.id)
    subtree, stack = [], [merged_root]
    while stack:
        node = stack.pop()
        subtree.append(node)
        stack.extend(children.get(node, []))
    conn.execute(update(Profile).where(Profile.id == merged_root).values(merged_into=None))
    conn.execute(update(Profile).where(Profile.id.in_(subtree)).values(cluster_id=merged_root))
    return subtree
