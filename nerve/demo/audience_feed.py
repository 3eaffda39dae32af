"""What the demo's screen says about segments, personalization and broadcasts: a line when a
customer enters one of the demo's segments (Nerve's segment change log, followed with a cursor
as audience sync follows it), a line as each broadcast of the audience flows moves on (the VIP
newsletter, and each brand deal a price drop started), the banner changes the heads saw, the
marketing desk's lines; and the figures for the status line and the farewell.

Asked once a second by the screen's thread; the database is read at most once a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from rich.text import Text
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from nerve.channels import messages
from nerve.demo.audience_setup import BRAND_DEAL, VIP_NEWSLETTER
from nerve.demo.heads import HeadLog
from nerve.demo.promotions import Promotions
from nerve.errors import NotFound
from nerve.flows.broadcasts import service as broadcasts
from nerve.profiles import view
from nerve.profiles.schemas import Person
from nerve.segments import membership

log = structlog.get_logger(__name__)

_PAGE = 500  # segment changes read at a time
_SHOWN_PER_SEGMENT = 3  # entries named on the screen per segment; the others are counted
_FLOWS = (VIP_NEWSLETTER, BRAND_DEAL)


@dataclass(frozen=True)
class AudienceFigures:
    entries: dict[str, int]  # segment key → people who entered it since the demo started
    asked: int  # personalization requests of the heads
    decisions: int  # slot decisions Nerve answered them
    banners_changed: int  # customers' home page banners that changed
    broadcasts: int  # broadcasts of the audience flows started in this run
    broadcast_runs: int  # runs they started (one per member who passed the condition)
    brand_pushes: int  # brand-deal pushes sent

    @property
    def segment_entries(self) -> int:
        return sum(self.entries.values())


class AudienceFeed:
    def __init__(
        self, engine: Engine, workspace_id: str, segments: list[str], heads: HeadLog,
        promotions: Promotions,
    ) -> None:  # fmt: skip
        self._engine, self._workspace_id = engine, workspace_id
        self._heads, self._promotions = heads, promotions
        self._entries = dict.fromkeys(segments, 0)
        self._cursors: dict[str, tuple[str, int]] = {}  # segment key → (id, last change id)
        self._progress: dict[str, tuple[str, int]] = {}  # broadcast id → (status, entered)
        self._runs: dict[str, int] = {}
        with engine.connect() as conn:
            self._pushes_before = self._pushes = self._pushes_sent(conn)
            for key in segments:
                found = membership.segment_by_key(conn, workspace_id, key)
                if found is not None:
                    self._cursors[key] = (found.id, self._last_change(conn, found.id))
            self._progress = {b["id"]: (b["status"], b["entered"])
                              for b in self._broadcasts(conn)}  # fmt: skip

    def lines(self) -> list[Text]:
        """What happened since the last call, one line each."""
        lines = self._heads.notes() + self._promotions.notes()
        try:
            with self._engine.connect() as conn:
                lines += self._segment_lines(conn)
                lines += self._broadcast_lines(conn)
                self._pushes = self._pushes_sent(conn)
        except SQLAlchemyError:  # the screen keeps the last figures; the demo goes on
            log.warning("demo_audience_figures_unreadable", exc_info=True)
        return lines

    def figures(self) -> AudienceFigures:
        heads = self._heads.figures()
        return AudienceFigures(
            entries=dict(self._entries), asked=heads.asked, decisions=heads.decisions,
            banners_changed=heads.changed, broadcasts=len(self._runs),
            broadcast_runs=sum(self._runs.values()),
            brand_pushes=self._pushes - self._pushes_before,
        )  # fmt: skip

    def _pushes_sent(self, conn: Connection) -> int:
        sent = messages.MessageFilter(flow=BRAND_DEAL, status="sent", channel="push")
        return len(messages.listed(conn, self._workspace_id, sent, limit=100_000))

    def _last_change(self, conn: Connection, segment_id: str) -> int:
        last = 0
        while changes := membership.changes_after(conn, segment_id, last, _PAGE):
            last = changes[-1].id
        return last

    def _segment_lines(self, conn: Connection) -> list[Text]:
        lines = []
        for key, (segment_id, after) in self._cursors.items():
            changes = membership.changes_after(conn, segment_id, after, _PAGE)
            if not changes:
                continue
            self._cursors[key] = (segment_id, changes[-1].id)
            entered = [c.person_id for c in changes if c.change == "entered"]
            shown = entered[: max(0, _SHOWN_PER_SEGMENT - self._entries[key])]
            self._entries[key] += len(entered)
            if shown:
                people = view.people(conn, self._workspace_id, shown)
                members = membership.count(conn, segment_id)
                for person_id in shown:
                    lines.append(_entered(key, _name(people.get(person_id)), members))
        return lines

    def _broadcasts(self, conn: Connection) -> list[dict[str, Any]]:
        found = []
        for name in _FLOWS:
            try:
                found += broadcasts.list_for_flow(conn, self._workspace_id, name, 20)
            except NotFound:  # not published (yet)
                continue
        return found

    def _broadcast_lines(self, conn: Connection) -> list[Text]:
        lines = []
        for broadcast in self._broadcasts(conn):
            key = str(broadcast["id"])
            now = (str(broadcast["status"]), int(broadcast["entered"]))
            if self._progress.get(key) == now:
                continue
            if key not in self._progress and now[0] == "scheduled":
                continue
            self._progress[key] = now
            self._runs[key] = now[1]
            if broadcast["flow"] == BRAND_DEAL and now == ("done", 0):
                continue  # a price back up, or nobody's brand: no line, as no push
            lines.append(_progress(broadcast))
        return lines


def _name(person: Person | None) -> str:
    if person is None:
        return "someone"
    traits = person.traits
    return str(traits.get("name") or traits.get("email") or "someone (anonymous)")


def _entered(key: str, name: str, members: int) -> Text:
    return Text.assemble(
        ("◎ ", "green"), (name, "bold"), " entered the segment ", (key, "bold"),
        f" — {members} member{'' if members == 1 else 's'} now (Segment Entered on the"
        f" timeline; GET /api/v1/segments/{key})",
    )  # fmt: skip


def _progress(broadcast: dict[str, Any]) -> Text:
    flow, status = str(broadcast["flow"]), str(broadcast["status"])
    what = "VIP newsletter" if flow == VIP_NEWSLETTER else "Brand deal"
    cause = "" if flow == VIP_NEWSLETTER else f" ({broadcast['trigger_event']})"
    return Text.assemble(
        ("▶ ", "green"), (f"{what} broadcast", "bold"), f" {broadcast['id']}{cause}: {status},"
        f" {broadcast['entered']} of {broadcast['audience'] or 0} members entered the flow"
        f" {flow}, {broadcast['skipped']} left out by its condition ({broadcast['percent']} %;"
        f" GET /api/v1/broadcasts/{broadcast['id']})",
    )  # fmt: skip
