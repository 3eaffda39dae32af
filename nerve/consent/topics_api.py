"""`/api/v1/consent/topics`: the lists people can join, per channel."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Response

from nerve.admin_routes import AdminRoute
from nerve.auth.api import requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.consent import topics
from nerve.consent.schemas import ConsentTopicList, ConsentTopicOut, TopicFields
from nerve.db.session import Db, WriteDb

router = APIRouter(prefix="/api/v1/consent/topics", tags=["consent"], route_class=AdminRoute)


@router.get("", response_model=ConsentTopicList)
def list_topics(
    db: Db, key: Annotated[Principal, requires(Permission.CONSENT_READ)]
) -> dict[str, Any]:
    """Every topic of the workspace; `newsletter` on email exists from the start."""
    return {"data": [asdict(topic) for topic in topics.listed(db, key.workspace_id)]}


@router.put("/{channel}/{name}", response_model=ConsentTopicOut, status_code=200,
            responses={201: {"model": ConsentTopicOut, "description": "A new topic"}})  # fmt: skip
def put_topic(
    db: WriteDb,
    key: Annotated[Principal, requires(Permission.CONSENT_TOPICS_WRITE)],
    channel: Literal["email", "sms", "push"],
    name: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")],
    fields: TopicFields,
    response: Response,
) -> dict[str, Any]:
    """Define a topic (201) or change its title and description (200)."""
    topic = topics.Topic(channel, name, fields.title, fields.description)
    saved, new = topics.put(db, key.workspace_id, topic, actor=key.key_id)
    response.status_code = 201 if new else 200
    return asdict(saved)
