"""The CSV export of an audience: the hashed records of the segment's current members who
allow the sync's consent topic, a page of members at a time — streamed, never all in memory,
each page read in a short transaction of its own."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy import Engine

from nerve.audiences import service
from nerve.audiences.hashing import HashedMember
from nerve.audiences.people import reach
from nerve.segments import membership

COLUMNS = ("email_sha256", "phone_sha256", "phone_e164_sha256", "external_id")
PAGE = 1000


def rows(engine: Engine, workspace_id: str, sync_id: str) -> Iterator[str]:
    """The CSV's lines, the header first. NotFound (before any line) for an unknown sync."""
    with engine.connect() as conn, conn.begin():
        row = service.row_of(conn, workspace_id, sync_id)
    return _lines(engine, workspace_id, row.segment_id, row.consent_topic)


def _lines(engine: Engine, workspace_id: str, segment_id: str, topic: str | None) -> Iterator[str]:
    yield _csv([COLUMNS])
    after: str | None = None
    while True:
        with engine.connect() as conn, conn.begin():
            people = membership.members_after(conn, segment_id, after, PAGE)
            if not people:
                return
            seen = reach(conn, workspace_id, people, topic)
        after = people[-1]
        records = [r for p in people if seen[p].allowed for r in seen[p].records]
        if records:
            yield _csv([_fields(record) for record in records])


def _fields(record: HashedMember) -> tuple[str, ...]:
    return tuple(record[column] or "" for column in COLUMNS)  # type: ignore[literal-required]


def _csv(lines: list[tuple[str, ...]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(lines)  # RFC 4180 §2: CRLF
    return out.getvalue()
