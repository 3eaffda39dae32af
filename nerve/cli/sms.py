"""`nerve sms`: the URL to give the SMS provider for replies (STOP, START), and replaying the
SMS steps that a provider outage, a wrong account or a missing token dead-lettered."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from nerve.auth.roles import Permission
from nerve.cli.output import DEFAULT_WORKSPACE, JsonFlag, WorkspaceOption, emit
from nerve.cli.session import session
from nerve.errors import InvalidInput, NotFound
from nerve.settings import get_settings
from nerve.workspaces import service as workspace_service

app = typer.Typer(
    help="SMS: the replies' webhook URL, replaying failed sends.", no_args_is_help=True
)

# What the dead letters of SMS steps say when the provider, not the message, was the problem.
PROVIDER_FAILURES = ("SMS provider", "sms.auth_token", "SMS auth token",
                     "no sms provider is configured")  # fmt: skip


@app.command("inbound-url")
def inbound_url(
    source: Annotated[str, typer.Argument(help="The source (name or id) whose write key to use.")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """The URL for the number's "a message comes in" webhook (HTTP POST): NERVE_PUBLIC_URL, the
    replies' path and the source's write key."""
    with session(Permission.SOURCES_READ, workspace, as_json, write=False) as (conn, principal):
        found = [s for s in workspace_service.list_sources(conn, principal.workspace_id)
                 if source in (s.id, s.name)]  # fmt: skip
        if not found:
            raise NotFound(f"no source named {source!r}: `nerve sources list`")
        if found[0].write_key_revoked_at is not None:
            raise InvalidInput(f"the write key of {source!r} is revoked: rotate it first")
        url = f"{get_settings().base_url.rstrip('/')}/v1/sms/inbound/{found[0].write_key}"
    emit(as_json, {"url": url}, url)


@app.command("replay")
def replay(workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False) -> None:
    """Replay every dead-lettered step that failed on the SMS provider (down, 429, refused
    credentials, no auth token), each with its idempotency key: a message that did go is found
    in the log and not sent twice."""
    from nerve.flows import service as flow_service

    with session(Permission.DEAD_LETTERS_REPLAY, workspace, as_json) as (conn, principal):
        letters = flow_service.list_dead_letters(conn, principal.workspace_id)
        chosen = [letter for letter in letters if _provider_failure(letter["error"])]
        for letter in chosen:
            flow_service.replay(conn, principal.workspace_id, letter["id"])
    replayed = [letter["id"] for letter in chosen]
    emit(as_json, {"replayed": replayed}, f"replaying {len(replayed)} SMS step(s)")


def _provider_failure(error: Any) -> bool:
    message = str(error.get("message", "")) if isinstance(error, dict) else str(error)
    return any(sign in message for sign in PROVIDER_FAILURES)
