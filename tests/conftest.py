"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL tests use one throw-away database per test session (created here, dropped at the
end); tables are emptied after each test. Set NERVE_TEST_BACKENDS=sqlite to skip PostgreSQL
locally; CI runs both.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

# The recommendations trainer of a test's app imports numpy on a thread of its own when it first
# trains; hypothesis and schemathesis look at `sys.modules["numpy"]` from the test's thread and
# fail on a half-imported module. Imported whole here, before any app starts, it never is.
import numpy  # noqa: F401
import psycopg
import pytest
from sqlalchemy import Engine, text

from nerve.db import migrate
from nerve.db.engine import make_engine
from nerve.db.models import metadata
from nerve.settings import Settings

BACKENDS = [
    b.strip() for b in os.environ.get("NERVE_TEST_BACKENDS", "sqlite,postgresql").split(",")
]
POSTGRES_ADMIN_URL = os.environ.get(
    "NERVE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name = f"nerve_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    url = f"{base}/{name}"
    engine = make_engine(Settings(database_url=url))
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_postgres(url: str) -> None:
    engine = make_engine(Settings(database_url=url))
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "nerve.db"
        url = f"sqlite:///{path}"
        engine = make_engine(Settings(database_url=url))
        migrate.upgrade(engine)
        engine.dispose()
        yield url
    else:
        url = request.getfixturevalue("postgres_url")
        yield url
        _empty_postgres(url)


# The tests' webhook receivers listen on loopback, which Nerve calls only when allowed.
LOOPBACK_RECEIVERS = "127.0.0.1/32"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        auto_migrate=False,
        outbound_allow=[LOOPBACK_RECEIVERS],
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    yield engine
    engine.dispose()
