"""The `nerve` command line: one Typer app, one module per command group; each command opens
the services, authorizes (nerve.cli.session) and calls a service."""

from __future__ import annotations

import typer

from nerve.cli import db, dlq, flows, keys, processes, sources

app = typer.Typer(
    help="Nerve: marketing-automation brain for headless commerce.", no_args_is_help=True
)
app.command()(processes.serve)
app.command()(processes.worker)
app.command()(processes.demo)
app.add_typer(db.app, name="db")
app.add_typer(sources.app, name="sources")
app.add_typer(keys.app, name="keys")
app.add_typer(dlq.app, name="dlq")
app.add_typer(flows.app, name="flows")


def main() -> None:  # pragma: no cover
    app()
