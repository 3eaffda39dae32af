"""`nerve config`: the settings Nerve reads."""

from __future__ import annotations

import typer

from nerve.configuration import configuration_reference

app = typer.Typer(help="Configuration: the NERVE_* settings.", no_args_is_help=True)


@app.command("reference")
def reference() -> None:
    """Print every NERVE_* setting with its default and meaning, as Markdown
    (`nerve config reference > docs/configuration.md`)."""
    typer.echo(configuration_reference(), nl=False)
