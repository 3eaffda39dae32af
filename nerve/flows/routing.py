"""Events meet flows: an attached event may start runs, steer waiting ones, or end them.

A consumer of the attached-event pipeline (nerve/pipeline.py): it runs inside identity
resolution's transaction, with the batch's people locked, so an event and the runs it starts or
moves commit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import structlog
from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.exc import OperationalError

from nerve import metrics
from nerve.db.base import insert_rows, new_id
from nerve.db.dialect import Dialect
from nerve.flows import segment_trigger
from nerve.flows.definition import FlowDefinition, Reentry
from nerve.flows.engine import (
    LIVE,
    Plan,
    apply_many,
    as_run,
    enqueue,
    finish_plan,
    plan,
    record,
    step_row,
    transition,
)
from nerve.flows.interpreter import (
    event_matches,
    exit_reached,
    trigger_key,
    trigger_matches,
    trigger_named,
)
from nerve.flows.models import FlowEntry, FlowRun
from nerve.flows.versions import ActiveVersion, active_versions, loadable
from nerve.identity.attached import AttachedBatch
from nerve.profiles.view import People

log = structlog.get_logger(__name__)


def route_events(conn: Connection, batch: AttachedBatch) -> None:
    """Let newly attached events start, steer or end runs."""
    versions = active_versions(conn, batch.workspace_id)
    if not versions:
        return
    router = _Router(conn, batch, versions, batch.dialect.now(conn))
    # Lock every live run of these people up front, in id order (see lock_runs), and keep them.
    router.load_runs(*batch.people)
    # Routing runs inside identity resolution: an engine bug on one event must not stop the
    # resolution of every event behind it. One savepoint for the batch; if routing fails, the
    # batch is routed again event by event, each in its own savepoint, and the culprit skipped.
    try:
        with conn.begin_nested():
            for event in batch.events:
                router.route(event.id, event.payload, event.person_id, event.source_id)
            router.flush()
        return
    except OperationalError:
        raise  # the database is in trouble: retry the whole batch later
    except Exception:
        if len(batch.events) == 1:
            _routing_failed(batch.events[0].id)
            return
    router.forget_runs()  # the savepoint rolled back what the batch did to them
    for event in batch.events:
        try:
            with conn.begin_nested():
                router.route(event.id, event.payload, event.person_id, event.source_id)
                router.flush()
        except OperationalError:
            raise
        except Exception:
            router.forget_runs()
            _routing_failed(event.id)


def _routing_failed(event_id: int) -> None:
    metrics.FLOW_ENGINE_ERRORS.labels("routing").inc()
    log.exception("flow_routing_failed", event_id=event_id)


class _Router:
    """Routes one batch's events, reading as little as it can: the live runs of the batch's
    people and their trigger entries once, kept current in memory as the batch starts and ends
    runs (re-read for a person only after an event moved a waiting run), and people's views
    together, only for flows whose conditions read them — the consumers that change a view
    (profiles, orders) ran before this one, and routing itself changes no trait. Starts and
    exits are written together by `flush`."""

    def __init__(
        self,
        conn: Connection,
        batch: AttachedBatch,
        versions: list[ActiveVersion],
        now: datetime,
    ) -> None:
        self.conn, self.batch, self.versions, self.now = conn, batch, versions, now
        self._person_of = {p: person for person, ids in batch.people.items() for p in ids}
        self._runs: dict[str, list[SimpleNamespace]] = {}
        self._starts: list[_Start] = []
        self._exits: list[Plan] = []
        # (flow, environment, entry key) → [(profile, entered at)] of the batch's people
        self._entries: dict[tuple[str, str, str], list[tuple[str, datetime]]] | None = None
        # (flow, environment, person, entry key) of the runs this batch started
        self.entered: set[tuple[str, str, str, str]] = set()
        self._people: People | None = None
        self._views: dict[str, dict[str, Any]] = {}
        self._segment_sources: set[str] | None = None

    def profile(self, flow: FlowDefinition, person: str) -> dict[str, Any]:
        """The person as `flow`'s conditions see them ({} when they read nothing of it)."""
        if not flow.uses_profile:
            return {}
        if person not in self._views:
            if self._people is None:  # everyone of the batch at once: a few queries in all
                batch = self.batch
                self._people = People(self.conn, batch.workspace_id, batch.people, batch.rules)
            self._views[person] = self._people.get(person).model_dump()
        return self._views[person]

    def profiles_of(self, *people: str) -> list[str]:
        """Every profile id of these people: runs and entries made under a profile that has
        since merged into a person belong to them."""
        return sorted({p for person in people for p in self.batch.people.get(person, {person})})

    def start(self, person: str, start: _Start) -> None:
        self._starts.append(start)
        if start.run["status"] in LIVE:
            self._live_runs(person).append(SimpleNamespace(**start.run))
        if start.entry is not None and self._entries is not None:
            key = (start.entry["flow_id"], start.entry["environment"], start.entry["entry_key"])
            self._entries.setdefault(key, []).append((person, start.entry["entered_at"]))

    def exit(self, person: str, run: SimpleNamespace, exited: Plan) -> None:
        self._exits.append(exited)
        self._runs[person] = [r for r in self._runs[person] if r.id != run.id]

    def flush(self) -> None:
        """Write the runs started and ended since the last flush: a few statements for all."""
        starts, self._starts = self._starts, []
        exits, self._exits = self._exits, []
        entries = [start.entry for start in starts if start.entry is not None]
        made = set()
        if entries:
            made = set(self.conn.execute(_insert_entries(self.batch.dialect), entries).scalars())
        kept = [s for s in starts if s.entry is None or s.entry["run_id"] in made]
        if kept:
            insert_rows(self.conn, FlowRun, [start.run for start in kept])
            enqueue(self.conn, [start.plan for start in kept])
            metrics.FLOW_RUNS.labels("started").inc(len(kept))
        dropped = {s.run["id"] for s in starts} - {s.run["id"] for s in kept}
        # The batch holds its people's runs locked: the versions it read still hold.
        apply_many(self.conn, [p for p in exits if p.run_id not in dropped])

    def load_runs(self, *people: str) -> None:
        """Read (and on PostgreSQL lock) the live runs of these people."""
        self.flush()  # runs started and ended by this batch are theirs too
        query = select(FlowRun).where(
            FlowRun.workspace_id == self.batch.workspace_id,
            FlowRun.profile_id.in_(self.profiles_of(*people)),
            FlowRun.status.in_(LIVE),
        )
        for person in people:
            self._runs[person] = []
        # Runs before tasks, in id order: see lock_runs.
        for run in self.conn.execute(self.batch.dialect.for_update(query.order_by(FlowRun.id))):
            person = self._person_of.get(run.profile_id, run.profile_id)
            self._runs[person].append(SimpleNamespace(**run._mapping))

    def entries(self, version: ActiveVersion, key: str) -> list[tuple[str, datetime]]:
        """(profile, entered at) of the batch's people's entries into `version`'s flow by
        `key`: read for every person of the batch and every flow on the first call, then kept
        current by `start`."""
        if self._entries is None:
            self._entries = {}
            profiles = self.profiles_of(*self.batch.people)
            for flow_id, environment in {(v.flow_id, v.environment) for v in self.versions}:
                for at in range(0, len(profiles), _CHUNK):
                    for row in self.conn.execute(
                        _ENTRIES,
                        {"flow_id": flow_id, "environment": environment,
                         "profiles": profiles[at : at + _CHUNK]},
                    ):  # fmt: skip
                        found = (flow_id, environment, row.entry_key)
                        self._entries.setdefault(found, []).append((row.profile_id, row.entered_at))
        return self._entries.get((version.flow_id, version.environment, key), [])

    def forget_runs(self) -> None:
        """The savepoint rolled back what the batch did: read runs again, start nothing."""
        self._runs.clear()
        self._starts.clear()
        self._exits.clear()
        self._entries = None
        self.entered.clear()

    def route(self, event_id: int, payload: dict[str, Any], person: str, source_id: str) -> None:
        # A run started or ended by an earlier event of this batch counts.
        for run in list(self._live_runs(person)):
            if _steer(self, run, payload, person):
                self._runs.pop(person, None)  # moved on by `transition`: read it again
        for version in self.versions:
            flow = version.definition
            if (
                trigger_named(flow, payload)
                and self.trusted(flow, source_id)
                and trigger_matches(flow, payload, self.profile(flow, person))
            ):
                _maybe_start(self, version, person, payload, event_id)

    def trusted(self, flow: FlowDefinition, source_id: str) -> bool:
        """Whether an event from `source_id` may start `flow`: a segment's entry or exit only
        from Nerve's own segments source — a head sending "Segment Entered" starts nothing."""
        if flow.trigger.type != segment_trigger.SEGMENT:
            return True
        if self._segment_sources is None:  # one query per batch, only when it matters
            sent_by = {event.source_id for event in self.batch.events}
            self._segment_sources = segment_trigger.own_sources(self.conn, sent_by)
        return source_id in self._segment_sources

    def _live_runs(self, person: str) -> list[SimpleNamespace]:
        if person not in self._runs:
            self.load_runs(person)
        return self._runs[person]


def _steer(router: _Router, row: SimpleNamespace, payload: dict[str, Any], person: str) -> bool:
    """Let the event end the run (written at the next flush) or move it; True if it moved."""
    conn, now = router.conn, router.now
    flow = loadable(conn, row.version_id)
    if flow is None:
        return False
    run = as_run(row, router.profile(flow, person))
    left, goal = exit_reached(flow, run, payload)
    if left:
        outcome = "goal" if goal else "exited"
        exited = finish_plan(row, row.state_version, "exited", outcome, now)
        exited.step(row.node, "exited", {"event": payload.get("event"), "goal": goal})
        router.exit(person, row, exited)
        return False
    waiting = row.waiting_for
    if (
        row.status == "waiting"
        and waiting
        and payload.get("event") == waiting["event"]
        and event_matches(waiting.get("where"), run, payload)
        and transition(conn, row, row.state_version, waiting["on_event"], now)
    ):
        record(conn, row, waiting["node"], "event_arrived", {"event": payload.get("event")})
        return True
    return False


def _entry_key(flow: FlowDefinition, payload: dict[str, Any]) -> str:
    policy = flow.trigger.reentry
    if policy == "always":
        return str(payload.get("messageId"))
    if policy == "once_per_key":
        return trigger_key(flow, payload)
    return ""


# Statements of a run start, built once: the values travel apart, so each compiles once.
_ENTRIES = select(FlowEntry.profile_id, FlowEntry.entry_key, FlowEntry.entered_at).where(
    FlowEntry.flow_id == bindparam("flow_id"),
    FlowEntry.environment == bindparam("environment"),
    FlowEntry.profile_id.in_(bindparam("profiles", expanding=True)),
)
_CHUNK = 2000  # profiles per query (SQLite allows 32,766 bound variables)
_ENTRY_INSERTS: dict[str, Any] = {}


def _insert_entries(dialect: Dialect) -> Any:
    """INSERT of trigger entries that leaves a duplicate alone; RETURNING names the ones made
    (SQLAlchemy reports rowcount -1 for it on PostgreSQL)."""
    if dialect.name not in _ENTRY_INSERTS:
        _ENTRY_INSERTS[dialect.name] = dialect.insert_ignoring_duplicates(
            FlowEntry.__table__, ["flow_id", "environment", "profile_id", "entry_key"]
        ).returning(FlowEntry.run_id)
    return _ENTRY_INSERTS[dialect.name]


@dataclass
class _Start:
    """A run decided in memory, written with the batch's other starts (`_Router.flush`)."""

    entry: dict[str, Any] | None  # None: an old entry was taken over (re-entry every N days)
    run: dict[str, Any]
    plan: Plan


def _maybe_start(
    router: _Router, version: ActiveVersion, person: str, payload: dict[str, Any], event_id: int
) -> bool:
    """Start a run if the person may enter; True if one started."""
    conn, workspace_id, now = router.conn, router.batch.workspace_id, router.now
    flow = version.definition
    key = _entry_key(flow, payload)
    entry = {"flow_id": version.flow_id, "environment": version.environment, "profile_id": person}
    if (version.flow_id, version.environment, person, key) in router.entered:
        return False  # an earlier event of this batch started it
    # An entry made under a profile that has since merged into this person counts too. Safe to
    # check, then insert: the resolver holds the person's lock.
    mine = set(router.profiles_of(person))
    earlier = [(profile, at) for profile, at in router.entries(version, key) if profile in mine]
    reentry = flow.trigger.reentry
    if earlier and not isinstance(reentry, Reentry):
        return False
    run_id = new_id("run")
    taken_over = False
    if earlier and isinstance(reentry, Reentry):
        cutoff = now - timedelta(days=reentry.every_days)
        if any(at > cutoff for _, at in earlier):
            return False
        if any(profile == person for profile, _ in earlier):
            # Once per N days: the person's own old entry is taken over.
            taken_over = (
                conn.execute(
                    update(FlowEntry)
                    .where(
                        *(getattr(FlowEntry, k) == v for k, v in entry.items()),
                        FlowEntry.entry_key == key,
                        FlowEntry.entered_at <= cutoff,
                    )
                    .values(entered_at=now, run_id=run_id)
                ).rowcount
                == 1
            )
            if not taken_over:
                return False
    new = SimpleNamespace(
        id=run_id, workspace_id=workspace_id, flow_id=version.flow_id,
        version_id=version.version_id, environment=version.environment, profile_id=person,
        trigger_key=trigger_key(flow, payload)[:255], status="active", node=flow.nodes[0].id,
        state_version=0, waiting_for=None, outcome=None, started_at=now, ended_at=None,
        state={"trigger": payload, "profile": {}, "data": {"event_id": event_id}},
    )  # fmt: skip
    first = plan(flow, new, 0, flow.nodes[0].id, now, router.profile(flow, person))
    first.steps.insert(0, step_row(new, None, "entered", {"event_id": event_id, "key": key}))
    entering = None if taken_over else {
        **entry, "entry_key": key, "workspace_id": workspace_id, "run_id": run_id,
        "entered_at": now,
    }  # fmt: skip
    router.start(person, _Start(entering, vars(new) | first.values | {"state_version": 1}, first))
    router.entered.add((version.flow_id, version.environment, person, key))
    return True
