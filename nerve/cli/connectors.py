"""`nerve connectors`: shop connectors (Shopify, WooCommerce, Shopware), their dead letters and
replay."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from nerve.auth.roles import Permission
from nerve.cli.output import DEFAULT_WORKSPACE, JsonFlag, WorkspaceOption, console, echo_json, emit
from nerve.cli.session import authorized, session

app = typer.Typer(help="Shop connectors: signed webhooks from the shop.", no_args_is_help=True)


def _json(connector: Any, base_url: str) -> dict[str, Any]:
    return {"id": connector.id, "name": connector.name, "platform": connector.platform,
            "source_id": connector.source_id, "currency": connector.currency,
            "webhook_url": base_url.rstrip("/") + connector.path,
            "created_at": connector.created_at.isoformat()}  # fmt: skip


@app.command("add")
def add(
    platform: Annotated[str, typer.Argument(help="shopify, woocommerce or shopware")],
    name: Annotated[str, typer.Argument(help="Also the name of its source, e.g. shopify-main")],
    secret: Annotated[
        str, typer.Option(help="The shop's webhook signing secret; - reads it from standard input")
    ],
    currency: Annotated[
        str | None, typer.Option(help="The shop's currency, for products sent without one")
    ] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """Add a connector; prints the webhook URL to give the shop. The secret is stored
    encrypted with NERVE_SECRET_KEY and never shown again."""
    from nerve.connectors import service

    if secret == "-":
        secret = typer.get_text_stream("stdin").read().strip()
    with (
        authorized(Permission.CONNECTORS_MANAGE, workspace, as_json) as (services, principal),
        services.write() as conn,
    ):
        added = service.add(conn, services.vault, principal.workspace_id, platform, name, secret,
                            actor=principal.key_id, currency=currency)  # fmt: skip
        shown = _json(added, services.settings.base_url)
    emit(as_json, shown, f"connector {escape(name)} added: the shop posts its webhooks to "
         f"{shown['webhook_url']}")  # fmt: skip


@app.command("list")
def list_connectors(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False
) -> None:
    """The connectors and their webhook URLs; never a secret."""
    from nerve.connectors import service

    with (
        authorized(Permission.CONNECTORS_MANAGE, workspace, as_json) as (services, principal),
        services.read() as conn,
    ):
        found = [_json(c, services.settings.base_url)
                 for c in service.listed(conn, principal.workspace_id)]  # fmt: skip
    if as_json:
        echo_json({"data": found})
        return
    for shown in found:
        console.print(f"{escape(shown['name'])}  {shown['platform']}  {shown['webhook_url']}")
    console.print(f"{len(found)} connector(s)")


@app.command("remove")
def remove(
    name: str, workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False
) -> None:
    """Forget a connector, its secret and its deliveries (its source and events stay)."""
    from nerve.connectors import service

    with session(Permission.CONNECTORS_MANAGE, workspace, as_json) as (conn, principal):
        service.remove(conn, principal.workspace_id, name, actor=principal.key_id)
    emit(as_json, {"name": name, "removed": True}, f"connector {escape(name)} removed")


@app.command("dead-letters")
def dead_letters(workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False) -> None:
    """Deliveries that could not be mapped, with their reasons."""
    from nerve.connectors import deliveries

    with session(Permission.CONNECTORS_MANAGE, workspace, as_json, write=False) as (
        conn, principal,
    ):  # fmt: skip
        letters = deliveries.dead_letters(conn, principal.workspace_id)
    if as_json:
        echo_json({"data": [{"id": d.id, "connector": d.connector, "platform": d.platform,
                             "topic": d.topic, "reason": d.reason, "attempts": d.attempts,
                             "received_at": d.received_at.isoformat(), "body": d.body}
                            for d in letters]})  # fmt: skip
        return
    for d in letters:
        console.print(f"{d.id}  {escape(d.connector)}  {escape(d.topic)}  {escape(d.reason)}")
    console.print(f"{len(letters)} dead letter(s)")


@app.command("replay")
def replay(
    delivery_id: int, workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False
) -> None:
    """Map a dead-lettered delivery again, after a mapping fix."""
    from nerve.connectors import deliveries

    with session(Permission.CONNECTORS_MANAGE, workspace, as_json) as (conn, principal):
        result = deliveries.replay(conn, principal.workspace_id, delivery_id)
    shown = {"delivery_id": result.delivery_id, "outcome": result.outcome,
             "reason": result.reason}  # fmt: skip
    human = f"delivery {delivery_id}: {result.outcome}" + (
        f" ({escape(result.reason)})" if result.reason else "")  # fmt: skip
    emit(as_json, shown, human)
