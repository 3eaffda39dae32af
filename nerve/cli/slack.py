"""`nerve slack`: the team's Slack channels that flows post alerts to, by name. A destination's
incoming-webhook URL holds the token that posts to the channel: kept encrypted, never shown."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from nerve.auth.roles import Permission
from nerve.cli.output import DEFAULT_WORKSPACE, JsonFlag, WorkspaceOption, console, echo_json, emit
from nerve.cli.session import authorized, session

if TYPE_CHECKING:
    from nerve.channels.slack.destinations import DestinationInfo

app = typer.Typer(help="Slack destinations: where flows post team alerts.", no_args_is_help=True)

NameArgument = Annotated[str, typer.Argument(help="The destination's name, such as team-alerts.")]


def _json(info: DestinationInfo) -> dict[str, Any]:
    return {"name": info.name, "url_hint": info.url_hint,
            "created_at": info.created_at.isoformat(),
            "updated_at": info.updated_at.isoformat()}  # fmt: skip


def _read_url(name: str) -> str:
    if sys.stdin.isatty():
        return str(typer.prompt(f"Slack webhook URL of {name}", hide_input=True))
    return sys.stdin.read().strip()


@app.command("add")
def add(
    name: NameArgument,
    url: Annotated[
        str | None,
        typer.Argument(help="The incoming-webhook URL; leave it out to type or pipe it in, "
                       "out of the shell's history."),
    ] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:  # fmt: skip
    """Add a destination for flows to name (`with: {destination: NAME}`), or give it a new
    URL; the URL is stored encrypted (NERVE_SECRET_KEY) and never shown again."""
    from nerve.channels.slack import destinations
    from nerve.outbound.policy import OutboundPolicy

    url = url if url is not None else _read_url(name)
    with (
        authorized(Permission.SLACK_DESTINATIONS_MANAGE, workspace, as_json) as (services, who),
        services.write() as conn,
    ):
        outbound = OutboundPolicy.configured(services.settings)
        info, new = destinations.put(conn, services.vault, outbound, who.workspace_id, name, url,
                                     actor=who.key_id)  # fmt: skip
    done = "added" if new else "given a new URL"
    emit(as_json, _json(info), f"Slack destination {escape(name)} {done} ({info.url_hint})")


@app.command("list")
def list_destinations(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False
) -> None:
    """The destinations: names and hosts, never a URL in full."""
    from rich.table import Table

    from nerve.channels.slack import destinations

    with (
        authorized(Permission.SLACK_DESTINATIONS_MANAGE, workspace, as_json) as (services, who),
        services.read() as conn,
    ):
        found = destinations.listed(conn, services.vault, who.workspace_id)
    if as_json:
        echo_json({"data": [_json(info) for info in found]})
        return
    table = Table("name", "url", "set", box=None, pad_edge=False, highlight=False)
    for info in found:
        table.add_row(info.name, info.url_hint or "(cannot be decrypted here)",
                      f"{info.updated_at:%Y-%m-%d %H:%M} UTC")  # fmt: skip
    console.print(table)
    console.print(f"{len(found)} destination(s)")


@app.command("remove")
def remove(
    name: NameArgument, workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False
) -> None:
    """Forget a destination; steps of flows still naming it are dead-lettered."""
    from nerve.channels.slack import destinations

    with session(Permission.SLACK_DESTINATIONS_MANAGE, workspace, as_json) as (conn, who):
        destinations.remove(conn, who.workspace_id, name, actor=who.key_id)
    emit(as_json, {"name": name, "removed": True}, f"Slack destination {escape(name)} removed")


@app.command("test")
def test(
    name: NameArgument, workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False
) -> None:
    """Post a test message to the destination now, and say what Slack answered."""
    from nerve.channels.slack import destinations
    from nerve.channels.slack.channel import SlackChannel
    from nerve.channels.smtp import SendDeferred, SendRefused
    from nerve.errors import Unavailable
    from nerve.outbound.policy import OutboundPolicy

    with authorized(Permission.SLACK_DESTINATIONS_MANAGE, workspace, as_json) as (services, who):
        with services.read() as conn:
            url = destinations.url_of(conn, services.vault, who.workspace_id, name)
        channel = SlackChannel(services.vault, OutboundPolicy.configured(services.settings))
        text = f"Nerve test message: flows posting to `{name}` arrive in this channel."
        try:
            answer = channel.post(name, url, {"text": text})
        except (SendDeferred, SendRefused) as exc:
            raise Unavailable(str(exc)) from None
        finally:
            channel.close()
    emit(as_json, {"name": name, **answer}, f"posted to {escape(name)}: Slack answered "
         f"{answer['http_status']}")  # fmt: skip
