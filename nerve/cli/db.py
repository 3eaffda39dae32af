"""`nerve db`: the database schema."""

from __future__ import annotations

import typer

from nerve.cli.output import console
from nerve.db import migrate
from nerve.db.engine import make_engine
from nerve.settings import get_settings

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade() -> None:
    """Apply all migrations."""
    engine = make_engine(get_settings())
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    console.print("database is up to date")
