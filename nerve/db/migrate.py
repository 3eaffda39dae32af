"""Apply Alembic migrations programmatically (no alembic.ini needed).

Every process (and every CLI command) upgrades the schema when it starts. Loading Alembic and
its scripts to find there is nothing to do cost ~1.2 s a command, so `upgrade` first compares
the database's revision with the newest script's — named by its number, `NNNN_what.py` with
`revision = "NNNN"` — and loads Alembic only when they differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from nerve.db import locks
from nerve.db.locks import transaction_lock

if TYPE_CHECKING:
    from alembic.config import Config

_MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def newest_revision() -> str:
    """The revision of the newest migration script, from its file name."""
    names = sorted(p.name for p in (_MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
    return names[-1][:4]


def upgrade(engine: Engine, revision: str = "head") -> None:
    if revision == "head" and _revision(engine) == newest_revision():
        return
    from alembic import command

    config = alembic_config()
    with engine.begin() as conn:
        # Many processes may start at once (serve --workers, several workers).
        transaction_lock(conn, locks.MIGRATIONS)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def is_current(engine: Engine) -> bool:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision() == head


def _revision(engine: Engine) -> str | None:
    """The database's revision; None before the first migration (no alembic_version yet)."""
    try:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:
        return None
    return found[0] if len(found) == 1 else None
