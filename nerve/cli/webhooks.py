"""`nerve webhooks`: the shop's receivers that flows call by name, signed per Standard Webhooks;
a signing secret is shown once, when it is made."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from nerve.auth.roles import Permission
from nerve.cli.output import DEFAULT_WORKSPACE, JsonFlag, WorkspaceOption, console, echo_json, emit
from nerve.cli.session import authorized, session

if TYPE_CHECKING:
    from nerve.webhooks.service import EndpointInfo, WithSecret

app = typer.Typer(
    help="Webhook endpoints: signed receivers of flow webhooks.", no_args_is_help=True
)

NameArgument = Annotated[str, typer.Argument(help="The endpoint's name, such as crm.")]


def _json(endpoint: EndpointInfo) -> dict[str, Any]:
    def when(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "name": endpoint.name,
        "url": endpoint.url,
        "status": endpoint.status,
        "disabled_reason": endpoint.disabled_reason,
        "disabled_at": when(endpoint.disabled_at),
        "secret_created_at": when(endpoint.secret_created_at),
        "previous_secret_expires_at": when(endpoint.previous_secret_expires_at),
        "created_at": when(endpoint.created_at),
    }


def _with_secret(made: WithSecret) -> dict[str, Any]:
    return _json(made.endpoint) | {"secret": made.secret}


@app.command("create")
def create(
    name: NameArgument,
    url: Annotated[str, typer.Argument(help="http or https, where the outbound policy allows.")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """A new endpoint for flows to name (`with: {endpoint: NAME}`); its signing secret is
    shown once: give it to the receiver."""
    from nerve.outbound.policy import OutboundPolicy
    from nerve.webhooks import service

    with (
        authorized(Permission.WEBHOOKS_MANAGE, workspace, as_json) as (services, principal),
        services.write() as conn,
    ):
        outbound = OutboundPolicy.configured(services.settings)
        made = service.create(conn, services.vault, outbound, principal.workspace_id, name, url,
                              actor=principal.key_id)  # fmt: skip
    emit(as_json, _with_secret(made), f"webhook endpoint {escape(name)} created; signing "
         f"secret (shown once): {made.secret}")  # fmt: skip


@app.command("list")
def list_endpoints(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False
) -> None:
    """The endpoints, their URLs and status; never a secret."""
    from rich.table import Table

    from nerve.webhooks import service

    with session(Permission.WEBHOOKS_MANAGE, workspace, as_json, write=False) as (conn, who):
        found = service.listed(conn, who.workspace_id)
    if as_json:
        echo_json({"data": [_json(endpoint) for endpoint in found]})
        return
    table = Table("name", "url", "status", "secret made", box=None, pad_edge=False,
                  highlight=False)  # fmt: skip
    for endpoint in found:
        status = endpoint.status
        if endpoint.disabled_at is not None:
            status += f" {endpoint.disabled_at:%Y-%m-%d %H:%M} UTC: {endpoint.disabled_reason}"
        table.add_row(endpoint.name, endpoint.url, status,
                      f"{endpoint.secret_created_at:%Y-%m-%d %H:%M} UTC")  # fmt: skip
    console.print(table)
    console.print(f"{len(found)} endpoint(s)")


@app.command("rotate")
def rotate(
    name: NameArgument,
    grace_hours: Annotated[
        float,
        typer.Option(
            min=0,
            max=168,
            help="How long the old secret still signs beside the new one; 0 ends it at once.",
        ),
    ] = 24,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """A new signing secret, shown once. Requests carry both signatures for --grace-hours, so
    the receiver can switch to the new secret in that time without refusing a request."""
    from nerve.webhooks import service

    with (
        authorized(Permission.WEBHOOKS_MANAGE, workspace, as_json) as (services, principal),
        services.write() as conn,
    ):
        made = service.rotate(conn, services.vault, principal.workspace_id, name,
                              timedelta(hours=grace_hours), actor=principal.key_id)  # fmt: skip
    until = made.endpoint.previous_secret_expires_at
    old = "no longer signs" if until is None else f"signs too until {until:%Y-%m-%d %H:%M} UTC"
    emit(as_json, _with_secret(made), f"new signing secret of {escape(name)} (shown once): "
         f"{made.secret}; the old one {old}")  # fmt: skip


@app.command("enable")
def enable(
    name: NameArgument, workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False
) -> None:
    """Send to the endpoint again (after a 410 Gone disabled it); replay its dead letters with
    `nerve dlq replay`."""
    from nerve.webhooks import service

    with session(Permission.WEBHOOKS_MANAGE, workspace, as_json) as (conn, principal):
        endpoint = service.enable(conn, principal.workspace_id, name, actor=principal.key_id)
    emit(as_json, _json(endpoint), f"webhook endpoint {escape(name)} enabled")
