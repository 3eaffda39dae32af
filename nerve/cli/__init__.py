"""The `nerve` command line: one Typer app, one module per command group; each command opens
the services, authorizes (nerve.cli.session) and calls a service."""

from __future__ import annotations

from typing import Annotated

import typer

from nerve import __version__
from nerve.cli import (
    audiences,
    broadcasts,
    catalog,
    config,
    connectors,
    db,
    dlq,
    email,
    flows,
    keys,
    policy,
    processes,
    push,
    recommendations,
    secrets,
    segments,
    slack,
    slots,
    sms,
    sources,
    suppressions,
    templates,
    webhooks,
)
from nerve.cli.output import JsonErrorsGroup

app = typer.Typer(
    cls=JsonErrorsGroup,
    help="Nerve: marketing-automation brain for headless commerce.",
    no_args_is_help=True,
    # A traceback's local variables can hold a secret key or a database password.
    pretty_exceptions_show_locals=False,
)


def _print_version(requested: bool) -> None:
    if requested:
        typer.echo(f"nerve {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Nerve: marketing-automation brain for headless commerce."""


app.command()(processes.serve)
app.command()(processes.worker)
app.command()(processes.demo)
app.add_typer(db.app, name="db")
app.add_typer(sources.app, name="sources")
app.add_typer(keys.app, name="keys")
app.add_typer(secrets.app, name="secrets")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(slack.app, name="slack")
app.add_typer(sms.app, name="sms")
app.add_typer(push.app, name="push")
app.add_typer(dlq.app, name="dlq")
app.add_typer(flows.app, name="flows")
app.add_typer(segments.app, name="segments")
app.add_typer(broadcasts.app, name="broadcasts")
app.add_typer(catalog.app, name="catalog")
app.add_typer(templates.app, name="templates")
app.add_typer(slots.app, name="slots")
app.add_typer(policy.app, name="policy")
app.add_typer(email.app, name="email")
app.add_typer(suppressions.app, name="suppressions")
app.add_typer(config.app, name="config")
app.add_typer(connectors.app, name="connectors")
app.add_typer(recommendations.app, name="recommendations")
app.add_typer(audiences.app, name="audiences")


def main() -> None:  # pragma: no cover
    app()
