"""`nerve config`: the settings Nerve reads."""

from __future__ import annotations

import typer

app = typer.Typer(help="Configuration: the NERVE_* settings.", no_args_is_help=True)


@app.command("reference")
def reference() -> None:
    """Print every NERVE_* setting with its default and meaning, as Markdown
    (`nerve config reference > docs/configuration.md`)."""
    # Imported here: the reference reads the demo's settings, and every other command would
    # otherwise import the whole demo (seconds of start-up) to parse its arguments.
    from nerve.configuration import configuration_reference

    typer.echo(configuration_reference(), nl=False)
