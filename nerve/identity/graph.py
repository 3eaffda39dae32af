"""Reads and writes on the identity graph inside one transaction: profiles, identifiers, merges."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, tuple_, update

from nerve.db.base import new_id, utcnow
from nerve.identity.extract import Ident
from nerve.identity.models import Identifier, Merge, Profile
from nerve.identity.rules import MergeRules


@dataclass
class Cluster:
    """What the merge rules need to know about one person (a merge tree)."""

    root: str
    created_at: datetime
    identifiers: set[Ident] = field(default_factory=set)

    def values(self, identifier_type: str) -> set[str]:
        return {i.value for i in self.identifiers if i.type == identifier_type}

    def best_rank(self, rules: MergeRules) -> int:
        return min((rules.rank(i.type) for i in self.identifiers), default=len(rules.priority))


class Graph:
    """The identity graph of one workspace, seen through one connection."""

    def __init__(self, conn: Connection, workspace_id: str, rules: MergeRules) -> None:
        self.conn = conn
        self.workspace_id = workspace_id
        self.rules = rules

    def lookup(self, idents: list[Ident]) -> dict[Ident, str]:
        """Known identifiers → the leaf profile that holds each."""
        if not idents:
            return {}
        rows = self.conn.execute(
            select(Identifier.type, Identifier.value, Identifier.profile_id).where(
                Identifier.workspace_id == self.workspace_id,
                tuple_(Identifier.type, Identifier.value).in_([(i.type, i.value) for i in idents]),
            )
        ).all()
        return {Ident(row.type, row.value): row.profile_id for row in rows}

    def cluster_of(self, profile_id: str) -> str:
        cluster = self.conn.scalar(select(Profile.cluster_id).where(Profile.id == profile_id))
        if cluster is None:
            raise LookupError(profile_id)
        return cluster

    def cluster(self, root: str) -> Cluster:
        created_at = self.conn.scalar(select(Profile.created_at).where(Profile.id == root))
        rows = self.conn.execute(
            select(Identifier.type, Identifier.value)
            .join(Profile, Profile.id == Identifier.profile_id)
            .where(Profile.cluster_id == root)
        ).all()
        return Cluster(root, created_at or utcnow(), {Ident(r.type, r.value) for r in rows})

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

    def create_profile(self) -> str:
        profile_id = new_id("prf")
        self.conn.execute(
            insert(Profile).values(
                id=profile_id,
                workspace_id=self.workspace_id,
                cluster_id=profile_id,
                created_at=utcnow(),
                order_count=0,
                total_spent=0.0,
                sources={},
                interests={},
            )
        )
        return profile_id

    def add_identifier(self, ident: Ident, leaf: str) -> None:
        self.conn.execute(
            insert(Identifier).values(
                workspace_id=self.workspace_id, type=ident.type, value=ident.value, profile_id=leaf
            )
        )

    def relink(self, ident: Ident, leaf: str) -> None:
        self.conn.execute(
            update(Identifier)
            .where(
                Identifier.workspace_id == self.workspace_id,
                Identifier.type == ident.type,
                Identifier.value == ident.value,
            )
            .values(profile_id=leaf)
        )

    def merge(self, a: Cluster, b: Cluster) -> tuple[str, str]:
        """Merge two clusters; returns (survivor, merged). The stronger identifiers survive."""
        survivor, merged = sorted(
            (a, b), key=lambda c: (c.best_rank(self.rules), c.created_at, c.root)
        )
        self.conn.execute(
            update(Profile).where(Profile.id == merged.root).values(merged_into=survivor.root)
        )
        self.conn.execute(
            update(Profile)
            .where(Profile.cluster_id == merged.root)
            .values(cluster_id=survivor.root)
        )
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
    ) -> str:
        merge_id = new_id("mrg")
        self.conn.execute(
            insert(Merge).values(
                id=merge_id,
                workspace_id=self.workspace_id,
                kind=kind,
                survivor_id=survivor,
                merged_id=merged,
                event_id=event_id,
                rule=rule,
                reason=reason[:500],
                details=details or {},
                created_at=utcnow(),
            )
        )
        return merge_id

    def split_off(self, merged_root: str) -> list[str]:
        """Cut `merged_root` out of its tree; it and its own subtree form a cluster again."""
        cluster = self.cluster_of(merged_root)
        members = self.conn.execute(
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
        self.conn.execute(update(Profile).where(Profile.id == merged_root).values(merged_into=None))
        self.conn.execute(
            update(Profile).where(Profile.id.in_(subtree)).values(cluster_id=merged_root)
        )
        return subtree
