"""The topics of a workspace: the lists a person can join per channel. Every workspace has the
`newsletter` on email from the start; a shop defines more (`PUT /api/v1/consent/topics/...`).
A sign-up, a flow's marketing send and the transactional API name one of them, or are refused
with the known ones listed — a misspelt topic would otherwise be a list no one can join."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from nerve.audit import service as audit
from nerve.consent.models import ConsentTopic
from nerve.errors import InvalidInput

CHANNELS = ("email", "sms", "push")


@dataclass(frozen=True)
class Topic:
    channel: str
    name: str
    title: str
    description: str | None = None


DEFAULTS = (Topic("email", "newsletter", "Newsletter", "News and offers from the shop"),)


def listed(conn: Connection, workspace_id: str, channel: str | None = None) -> list[Topic]:
    query = select(ConsentTopic).where(ConsentTopic.workspace_id == workspace_id)
    if channel is not None:
        query = query.where(ConsentTopic.channel == channel)
    stored = {
        (row.channel, row.name): Topic(row.channel, row.name, row.title, row.description)
        for row in conn.execute(query)
    }
    defaults = {(t.channel, t.name): t for t in DEFAULTS if channel in (None, t.channel)}
    return sorted({**defaults, **stored}.values(), key=lambda t: (t.channel, t.name))


def problem(conn: Connection, workspace_id: str, channel: str, name: str) -> str | None:
    """Why `name` is not a topic of the workspace on `channel`; None when it is."""
    known = [t.name for t in listed(conn, workspace_id, channel)]
    if name in known:
        return None
    return f"no {channel} topic named {name!r}; known: {', '.join(known) or 'none'}"


def require(conn: Connection, workspace_id: str, channel: str, name: str) -> None:
    reason = problem(conn, workspace_id, channel, name)
    if reason is not None:
        raise InvalidInput(reason, details={"path": "topic"})


def put(conn: Connection, workspace_id: str, topic: Topic, actor: str) -> tuple[Topic, bool]:
    """Define a topic or change its title and description; True when it is new."""
    if topic.channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {topic.channel!r}", details={"allowed": CHANNELS})
    key = (ConsentTopic.workspace_id == workspace_id, ConsentTopic.channel == topic.channel,
           ConsentTopic.name == topic.name)  # fmt: skip
    values = {"title": topic.title, "description": topic.description}
    exists = conn.scalar(select(ConsentTopic.name).where(*key)) is not None
    if exists:
        conn.execute(update(ConsentTopic).where(*key).values(**values))
    else:
        conn.execute(insert(ConsentTopic).values(workspace_id=workspace_id,
                                                 channel=topic.channel, name=topic.name,
                                                 **values))  # fmt: skip
    audit.record(conn, workspace_id, actor, "consent.topic.saved", f"{topic.channel}:{topic.name}")
    return topic, not exists
