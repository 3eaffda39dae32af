"""Evaluate people for segments and write what changed: members, the change log, the window
timers and Nerve's own `Segment Entered` / `Segment Exited` events.

One entry point for the pipeline, the timer worker and builds. Writes are idempotent per row
(an insert that leaves an existing member alone, a delete that reports whether it removed
one), so two evaluations of one person at once — a build and an event — log each entry once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

import structlog
from sqlalchemy import Connection, delete, insert, select, tuple_

from nerve import metrics
from nerve.db.dialect import dialect_of
from nerve.events import internal
from nerve.flows import segment_trigger
from nerve.identity import service as identity
from nerve.identity.rules import MergeRules
from nerve.segments import facts as person_facts
from nerve.segments.active import ActiveSegment
from nerve.segments.evaluate import Context, evaluate
from nerve.segments.models import SegmentChange, SegmentMember, SegmentTimer

log = structlog.get_logger(__name__)
SOURCE = segment_trigger.SOURCE  # flows start only on entries and exits from it
ENTERED, EXITED = "Segment Entered", "Segment Exited"
OWN_EVENTS = frozenset({ENTERED, EXITED})
_CHUNK = 2000


@dataclass
class Outcome:
    evaluated: int = 0
    entered: list[tuple[str, str]] = field(default_factory=list)  # (segment id, person)
    exited: list[tuple[str, str]] = field(default_factory=list)


def memberships(
    conn: Connection, segment_ids: Sequence[str], people: Sequence[str]
) -> set[tuple[str, str]]:
    """(segment id, person) pairs that are members now, among these."""
    found: set[tuple[str, str]] = set()
    if not segment_ids or not people:
        return found
    for start in range(0, len(people), _CHUNK):
        rows = conn.execute(
            select(SegmentMember.segment_id, SegmentMember.person_id).where(
                SegmentMember.segment_id.in_(segment_ids),
                SegmentMember.person_id.in_(people[start : start + _CHUNK]),
            )
        )
        found.update((s, p) for s, p in rows)
    return found


def decide(
    conn: Connection,
    workspace_id: str,
    segments: list[ActiveSegment],
    wanted: Mapping[str, set[str]],
    members: Mapping[str, Sequence[str]],
    rules: MergeRules,
    now: datetime,
) -> tuple[dict[tuple[str, str], tuple[bool, datetime | None]], set[tuple[str, str]]]:
    """Evaluate each person for the segment keys `wanted[person]`, in dependency order,
    without writing: ((segment id, person) → (member?, due), current members)."""
    needed = [s for s in segments if any(s.key in keys for keys in wanted.values())]
    by_key = {s.key: s for s in segments}
    read = {s.id for s in needed} | {
        by_key[k].id for s in needed for k in s.inputs.segments if k in by_key
    }
    current = memberships(conn, sorted(read), sorted(wanted))
    found = person_facts.load(
        conn, workspace_id, {p: members[p] for p in wanted}, [s.definition for s in needed],
        rules, now,
    )  # fmt: skip
    answers: dict[tuple[str, str], tuple[bool, datetime | None]] = {}
    state = set(current)
    for segment in needed:
        people = [p for p in wanted if segment.key in wanted[p]]
        for person in people:
            context = Context(now, partial(_member, by_key, state, person=person))
            held, due = evaluate(segment.definition.where, found[person], context)
            answers[(segment.id, person)] = (held, due)
            if held:
                state.add((segment.id, person))
            else:
                state.discard((segment.id, person))
        metrics.SEGMENT_EVALUATIONS.labels(segment.key).inc(len(people))
    return answers, current


def _member(by_key: dict[str, ActiveSegment], state: set[tuple[str, str]], key: str, *,
            person: str) -> bool:  # fmt: skip
    segment = by_key.get(key)
    return segment is not None and (segment.id, person) in state


def reevaluate(
    conn: Connection,
    workspace_id: str,
    segments: list[ActiveSegment],
    wanted: Mapping[str, set[str]],
    members: Mapping[str, Sequence[str]],
    rules: MergeRules,
    now: datetime,
    *,
    announce: bool = True,
) -> Outcome:
    """Evaluate and write: members, changes, timers; with `announce`, own events too."""
    answers, current = decide(conn, workspace_id, segments, wanted, members, rules, now)
    outcome = Outcome(evaluated=len(answers))
    names = {s.id: s for s in segments}
    timers: list[dict[str, object]] = []
    for (segment_id, person), (held, due) in answers.items():
        if held and (segment_id, person) not in current:
            if _enter(conn, workspace_id, segment_id, person, now):
                outcome.entered.append((segment_id, person))
        elif not held and (segment_id, person) in current and _exit(conn, segment_id, person):
            outcome.exited.append((segment_id, person))
        if due is not None:
            timers.append({"segment_id": segment_id, "person_id": person,
                           "workspace_id": workspace_id, "due_at": due})  # fmt: skip
    _set_timers(conn, [pair for pair, (_, due) in answers.items() if due is None], timers)
    changes = [(s, p, "entered") for s, p in outcome.entered]
    changes += [(s, p, "exited") for s, p in outcome.exited]
    if changes:
        _log_changes(conn, workspace_id, changes, now)
        if announce:
            _announce(conn, workspace_id, names, changes, members, now)
    return outcome


def _enter(conn: Connection, workspace_id: str, segment_id: str, person: str,
           at: datetime) -> bool:  # fmt: skip
    statement = (
        dialect_of(conn)
        .insert_ignoring_duplicates(SegmentMember.__table__, ["segment_id", "person_id"])
        .returning(SegmentMember.person_id)
    )
    values = {"segment_id": segment_id, "person_id": person, "workspace_id": workspace_id,
              "entered_at": at}  # fmt: skip
    return conn.execute(statement, values).first() is not None


def _exit(conn: Connection, segment_id: str, person: str) -> bool:
    removed = conn.execute(
        delete(SegmentMember).where(
            SegmentMember.segment_id == segment_id, SegmentMember.person_id == person
        )
    )
    return removed.rowcount == 1


def _set_timers(conn: Connection, cleared: list[tuple[str, str]], due: list[dict[str, object]]
                ) -> None:  # fmt: skip
    for start in range(0, len(cleared), 500):
        pairs = cleared[start : start + 500]
        conn.execute(
            delete(SegmentTimer).where(
                tuple_(SegmentTimer.segment_id, SegmentTimer.person_id).in_(pairs)
            )
        )
    if due:
        statement = dialect_of(conn).upsert(
            SegmentTimer.__table__, ["segment_id", "person_id"], ["due_at"]
        )
        conn.execute(statement, due)


def _log_changes(conn: Connection, workspace_id: str, changes: list[tuple[str, str, str]],
                 at: datetime) -> None:  # fmt: skip
    conn.execute(insert(SegmentChange), [
        {"workspace_id": workspace_id, "segment_id": s, "person_id": p, "change": c, "at": at}
        for s, p, c in changes
    ])  # fmt: skip


def _announce(
    conn: Connection, workspace_id: str, segments: Mapping[str, ActiveSegment],
    changes: list[tuple[str, str, str]], members: Mapping[str, Sequence[str]], at: datetime,
) -> None:  # fmt: skip
    """Own events on the person's timeline: flows start on them (`trigger: {type: segment}`)."""
    profiles = sorted({p for _, person, _ in changes for p in members.get(person, [person])})
    held = identity.identifiers_by_profile(conn, profiles)
    for segment_id, person, change in changes:
        pairs = dict(sorted(
            pair for p in members.get(person, [person]) for pair in held.get(p, [])
        ))  # fmt: skip
        who = internal.Person(user_id=pairs.get("user_id"), anonymous_id=pairs.get("anonymous_id"))
        if not who.user_id and not who.anonymous_id:
            log.warning("segment_event_without_identifier", person=person)
            continue
        segment = segments[segment_id]
        name = ENTERED if change == "entered" else EXITED
        internal.record(conn, workspace_id, SOURCE, who, name,
                        {"segment": segment.key, "segment_name": segment.name}, at,
                        f"segment-{uuid.uuid4().hex}")  # fmt: skip
