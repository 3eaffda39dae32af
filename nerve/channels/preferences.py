"""What a person left on the preference page, beside their per-topic consents — the three
levels people expect (as in Novu): everything, a whole channel, one flow. Each holds back the
marketing messages it covers on every channel; transactional messages and flows marked
critical (order and payment messages) are never held back."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, delete, select

from nerve.channels.models import OptOut
from nerve.db.dialect import dialect_of

Left = set[tuple[str, str]]  # (scope, name): ("all", ""), ("channel", "sms"), ("flow", "...")
SCOPES = ("all", "channel", "flow")


def left_by(conn: Connection, workspace_id: str, profile_ids: Iterable[str]) -> dict[str, Left]:
    """What each of these profiles left, in one query."""
    wanted = sorted(set(profile_ids))
    if not wanted:
        return {}
    rows = conn.execute(
        select(OptOut.profile_id, OptOut.scope, OptOut.name).where(
            OptOut.workspace_id == workspace_id, OptOut.profile_id.in_(wanted)
        )
    )
    found: dict[str, Left] = {}
    for row in rows:
        found.setdefault(row.profile_id, set()).add((row.scope, row.name))
    return found


def held_back(left: Left, channel: str, flow: str | None) -> str | None:
    """Why what the person left holds a marketing message back; None when nothing does."""
    if ("all", "") in left:
        return "the person left all messages"
    if ("channel", channel) in left:
        return f"the person left {channel} messages"
    if flow is not None and ("flow", flow) in left:
        return f"the person left the flow {flow}"
    return None


def of_person(conn: Connection, workspace_id: str, profile_ids: Iterable[str]) -> Left:
    """Everything the person (all their profiles) left."""
    return {item for left in left_by(conn, workspace_id, profile_ids).values() for item in left}


def leave(
    conn: Connection, workspace_id: str, profile_id: str, scope: str, name: str, via: str
) -> None:
    assert scope in SCOPES
    insert = dialect_of(conn).insert_ignoring_duplicates(
        OptOut.__table__, ["workspace_id", "profile_id", "scope", "name"]
    )
    row = {"workspace_id": workspace_id, "profile_id": profile_id, "scope": scope,
           "name": "" if scope == "all" else name, "via": via}  # fmt: skip
    conn.execute(insert, [row])


def rejoin(
    conn: Connection, workspace_id: str, profile_ids: Iterable[str], scope: str, name: str
) -> None:
    """Take back leaving (on every profile of the person)."""
    conn.execute(
        delete(OptOut).where(
            OptOut.workspace_id == workspace_id, OptOut.profile_id.in_(list(profile_ids)),
            OptOut.scope == scope, OptOut.name == ("" if scope == "all" else name),
        )
    )  # fmt: skip
