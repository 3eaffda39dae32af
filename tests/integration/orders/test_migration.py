"""Migration 0018: the float totals of existing orders become exact money, rounded to four
decimals, and nothing else about them changes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, select, text

from nerve.db import migrate
from nerve.db.engine import make_engine
from nerve.orders.models import Order
from nerve.settings import Settings
from tests.conftest import BACKENDS, POSTGRES_ADMIN_URL


@pytest.fixture(params=BACKENDS)
def fresh_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(Settings(database_url=f"sqlite:///{tmp_path / 'old.db'}",
                                      _env_file=None))  # fmt: skip
        yield engine
        engine.dispose()
        return
    name = f"nerve_orders_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    engine = make_engine(Settings(database_url=f"{base}/{name}", _env_file=None))
    yield engine
    engine.dispose()
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_float_totals_become_exact_money(fresh_engine: Engine) -> None:
    migrate.upgrade(fresh_engine, "0017")
    with fresh_engine.begin() as conn:
        conn.execute(text("INSERT INTO workspaces (id, name) VALUES ('ws1', 'shop')"))
        conn.execute(text(
            "INSERT INTO profiles (id, workspace_id, cluster_id, created_at)"
            " VALUES ('p1', 'ws1', 'p1', CURRENT_TIMESTAMP)"
        ))  # fmt: skip
        for n, total in enumerate((129.9, 0.1 + 0.2, 19.99, 1 / 3, 0.0)):
            conn.execute(
                text("INSERT INTO orders (workspace_id, order_id, profile_id, total, currency,"
                     " ordered_at) VALUES ('ws1', :o, 'p1', :t, 'EUR', CURRENT_TIMESTAMP)"),
                {"o": f"o{n}", "t": total},
            )  # fmt: skip
    migrate.upgrade(fresh_engine)
    with fresh_engine.connect() as conn:
        rows = conn.execute(select(Order.order_id, Order.total, Order.status, Order.coupons,
                                   Order.sources).order_by(Order.order_id)).all()  # fmt: skip
    assert [r.total for r in rows] == [
        Decimal("129.90"),
        Decimal("0.30"),
        Decimal("19.99"),
        Decimal("0.3333"),
        Decimal("0.00"),
    ]
    assert {(r.status, tuple(r.coupons), tuple(r.sources)) for r in rows} == {("placed", (), ())}
