"""What a group of sends must know before any of them goes — an earlier attempt of each, the
template versions, which addresses are erased or suppressed, the consents — read with a few
queries for the whole group instead of several per mail; and the one rule that decides from it
whether a mail may go."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from nerve.channels import messages, preferences, templates
from nerve.channels.messages import Logged
from nerve.channels.models import Suppression
from nerve.consent import service as consent
from nerve.identity.extract import normalize_email
from nerve.privacy import service as privacy
from nerve.profiles.schemas import Person

if TYPE_CHECKING:
    from nerve.channels.email import EmailRequest


@dataclass
class Checks:
    earlier: dict[tuple[str, str], Logged] = field(default_factory=dict)  # (workspace, key)
    _conn: Connection | None = None
    _versions: dict[tuple[str, str], Any] = field(default_factory=dict)
    _hashes: dict[tuple[str, str], str] = field(default_factory=dict)  # (workspace, address)
    _erased: set[tuple[str, str]] = field(default_factory=set)  # (workspace, hash)
    _suppressed: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    _consents: dict[tuple[str, str, str], str] = field(default_factory=dict)
    _left: dict[tuple[str, str], preferences.Left] = field(default_factory=dict)  # (ws, person)

    def version(self, workspace_id: str, name: str) -> Any:
        """The template's latest version (NotFound if there is none), read once per group."""
        if (workspace_id, name) not in self._versions:
            assert self._conn is not None
            self._versions[workspace_id, name] = templates.version(self._conn, workspace_id, name)
        return self._versions[workspace_id, name]

    def why_not(
        self, request: EmailRequest, address: str | None, erased: bool, person: Person | None
    ) -> str | None:
        """Why this mail must not go (None: it may)."""
        if erased:
            return "the person was erased"
        if request.kind == "marketing" and person is not None:
            left = self._left.get((request.workspace_id, person.id), set())
            held = preferences.held_back(left, "email", request.flow)
            if held is not None:
                return held
        if address is None:
            return "the person has no email address"
        normal = normalize_email(address)
        if normal is None:
            return "the person's email address is not valid"
        digest = self._hashes[request.workspace_id, normal]
        if (request.workspace_id, digest) in self._erased:
            return "the address belongs to an erased person"
        reasons = set(self._suppressed.get((request.workspace_id, digest), ()))
        if request.kind == "transactional":
            # Leaving the newsletters is not leaving the order confirmations.
            reasons.discard("unsubscribed")
        if reasons:
            return f"the address is suppressed ({', '.join(sorted(reasons))})"
        if request.kind == "marketing":
            topic = request.topic or ""
            agreed = self._consents.get((request.workspace_id, normal, topic))
            if agreed != "subscribed":
                return f"no consent to {topic} ({agreed or 'never given'})"
        return None


def read(
    conn: Connection, requests: Sequence[EmailRequest], addresses: Sequence[str | None],
    persons: Sequence[Person | None],
) -> Checks:  # fmt: skip
    """The checks of a group of sends; `addresses[i]` is where `requests[i]` would go, to
    `persons[i]`."""
    checks = Checks(_conn=conn)
    _read_left(conn, checks, requests, persons)
    for workspace_id in {r.workspace_id for r in requests}:
        mine = [(r, a) for r, a in zip(requests, addresses, strict=True)
                if r.workspace_id == workspace_id]  # fmt: skip
        keys = [r.idempotency_key for r, _ in mine]
        for key, logged in messages.found_many(conn, workspace_id, keys).items():
            checks.earlier[workspace_id, key] = logged
        normal = sorted({n for _, a in mine if a and (n := normalize_email(a))})
        hashes = {a: privacy.identifier_hash(conn, workspace_id, a) for a in normal}
        checks._hashes |= {(workspace_id, a): h for a, h in hashes.items()}
        digests = list(hashes.values())
        erased = privacy.erased_among(conn, workspace_id, "email", digests)
        checks._erased |= {(workspace_id, digest) for digest in erased}
        if digests:
            rows = conn.execute(
                select(Suppression.address_hash, Suppression.reason).where(
                    Suppression.workspace_id == workspace_id, Suppression.channel == "email",
                    Suppression.address_hash.in_(digests),
                )
            )  # fmt: skip
            for digest, reason in rows:
                checks._suppressed.setdefault((workspace_id, digest), set()).add(reason)
        for (address, topic), status in consent.statuses(
            conn, workspace_id, "email", normal
        ).items():
            checks._consents[workspace_id, address, topic] = status
    return checks


def _read_left(
    conn: Connection, checks: Checks, requests: Sequence[EmailRequest],
    persons: Sequence[Person | None],
) -> None:  # fmt: skip
    """What the group's people left on their preference pages, one query per workspace."""
    for workspace_id in {r.workspace_id for r in requests}:
        mine = {p.id: p for r, p in zip(requests, persons, strict=True)
                if p is not None and r.workspace_id == workspace_id}  # fmt: skip
        profiles = {pid: person.id for person in mine.values()
                    for pid in (person.id, *person.merged_ids)}  # fmt: skip
        for profile_id, left in preferences.left_by(conn, workspace_id, profiles).items():
            key = (workspace_id, profiles[profile_id])
            checks._left[key] = checks._left.get(key, set()) | left
