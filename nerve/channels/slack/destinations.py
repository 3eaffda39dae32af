"""Slack destinations: a name a flow uses (`with: {destination: team-alerts}`) for one Slack
incoming-webhook URL. The URL carries the token that lets anyone post to the channel, so it is
kept only encrypted, as the workspace secret `slack.<name>`, and never shown again in full.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy import Connection

from nerve.errors import InvalidInput, NotFound, Unavailable
from nerve.outbound import http
from nerve.outbound.policy import OutboundPolicy, OutboundRefused
from nerve.secrets import service as secrets
from nerve.secrets.vault import Vault

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
NAME_RULE = "1-64 lower-case letters, digits, dashes and underscores, from a letter or digit"
PREFIX = "slack."
MAX_URL = 2000


@dataclass(frozen=True)
class DestinationInfo:
    """What may be shown of a destination: its name and host, never the URL's path (the
    token)."""

    name: str
    url_hint: str | None  # https://hooks.slack.com/… ; None when it cannot be decrypted here
    created_at: datetime
    updated_at: datetime


def secret_name(name: str) -> str:
    return f"{PREFIX}{name}"


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise InvalidInput(
            f"a Slack destination's name is {NAME_RULE} (such as team-alerts)",
            details={"path": "name"},
        )
    return name


def check_url(outbound: OutboundPolicy, url: str) -> str:
    """An incoming-webhook URL Nerve may call as written (http or https, under the outbound
    policy). Not limited to hooks.slack.com: Mattermost and Rocket.Chat take the same
    requests at their own hosts."""
    if len(url) > MAX_URL:
        raise InvalidInput(f"a Slack webhook URL is at most {MAX_URL} characters",
                           details={"path": "url"})  # fmt: skip
    try:
        http.check_url(outbound, url)
    except OutboundRefused as exc:
        raise InvalidInput(f"url {exc}", details={"path": "url"}) from None
    return url


def put(
    conn: Connection, vault: Vault, outbound: OutboundPolicy, workspace_id: str, name: str,
    url: str, *, actor: str,
) -> tuple[DestinationInfo, bool]:  # fmt: skip
    """Store (or replace) a destination's URL, encrypted; True when it is new. 503 while
    NERVE_SECRET_KEY is unset (nothing is stored)."""
    check_name(name)
    check_url(outbound, url)
    new = not exists(conn, workspace_id, name)
    info = secrets.put(conn, vault, workspace_id, secret_name(name), url, actor=actor)
    return DestinationInfo(name, hint(url), info.created_at, info.updated_at), new


def listed(conn: Connection, vault: Vault, workspace_id: str) -> list[DestinationInfo]:
    found = []
    for info in secrets.listed(conn, workspace_id):
        name = info.name.removeprefix(PREFIX)
        if info.name.startswith(PREFIX) and NAME.fullmatch(name):
            found.append(DestinationInfo(name, _hint_of(conn, vault, workspace_id, name),
                                         info.created_at, info.updated_at))  # fmt: skip
    return found


def find(conn: Connection, vault: Vault, workspace_id: str, name: str) -> DestinationInfo:
    for info in listed(conn, vault, workspace_id):
        if info.name == name:
            return info
    raise NotFound(f"no Slack destination named {name!r}")


def exists(conn: Connection, workspace_id: str, name: str) -> bool:
    wanted = secret_name(name)
    return any(info.name == wanted for info in secrets.listed(conn, workspace_id))


def remove(conn: Connection, workspace_id: str, name: str, *, actor: str) -> None:
    try:
        secrets.remove(conn, workspace_id, secret_name(name), actor=actor)
    except NotFound:
        raise NotFound(f"no Slack destination named {name!r}") from None


def url_of(conn: Connection, vault: Vault, workspace_id: str, name: str) -> str:
    """The destination's webhook URL, for the sender; NotFound (with what to do) when there is
    none or it cannot be read here."""
    try:
        url = secrets.reveal(conn, vault, workspace_id, secret_name(name))
    except Unavailable as exc:  # no NERVE_SECRET_KEY here, or not the one it was stored under
        raise NotFound(f"the Slack destination {name!r} cannot be read: {exc.message}") from None
    if url is None:
        raise NotFound(f"no Slack destination named {name!r} (removed since the flow was "
                       f"published?): `nerve slack add {name}`, then replay the step")  # fmt: skip
    return url


def hint(url: str) -> str:
    """The URL with its path hidden: enough to tell Slack from a bridge, not enough to post."""
    with contextlib.suppress(httpx.InvalidURL):
        parsed = httpx.URL(url)
        return f"{parsed.scheme}://{parsed.netloc.decode('ascii')}/…"
    return "…"


def _hint_of(conn: Connection, vault: Vault, workspace_id: str, name: str) -> str | None:
    try:
        url = secrets.reveal(conn, vault, workspace_id, secret_name(name))
    except Unavailable:
        return None
    return None if url is None else hint(url)
