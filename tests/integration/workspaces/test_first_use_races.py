"""What a workspace makes on first use — its hashing key, Nerve's own sources — is made once,
however many workers need it at the same moment (PostgreSQL: really at once)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from nerve.db.engine import write_transaction
from nerve.workspaces import service
from nerve.workspaces.models import Source, Workspace
from tests.factories import make_shop


def _at_once(engine: Engine, work: Callable[[Connection], Any], threads: int = 6) -> list[Any]:
    """`work` in `threads` write transactions started together; what each returned."""
    start, results, errors = threading.Barrier(threads), [], []

    def run() -> None:
        start.wait()
        try:
            with write_transaction(engine) as conn:
                results.append(work(conn))
        except Exception as exc:  # collected: the test names it
            errors.append(exc)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    return results


def test_nerves_own_source_is_made_once(engine: Engine) -> None:
    shop = make_shop(engine, kinds=("web",))
    made = _at_once(engine, lambda conn: service.own_source(conn, shop.workspace_id, "Nerve sms"))
    assert len(set(made)) == 1
    with engine.connect() as conn:
        found = conn.scalars(select(Source.id).where(Source.name == "Nerve sms")).all()
    assert found == [made[0]]


def test_a_new_workspace_has_its_hashing_key_from_the_start(engine: Engine) -> None:
    """A read (a head reading its cart token) never has to write the key: on SQLite a read
    transaction cannot take the write lock while the worker holds it."""
    shop = make_shop(engine, kinds=("web",))
    with engine.connect() as conn:
        stored = conn.scalar(select(Workspace.hash_key).where(Workspace.id == shop.workspace_id))
    assert stored and len(bytes.fromhex(stored)) == 32


def test_the_hashing_key_is_made_once(engine: Engine) -> None:
    """A workspace from before keys were made with it gets one on first use, once."""
    shop = make_shop(engine, kinds=("web",))
    with write_transaction(engine) as conn:
        conn.execute(
            update(Workspace).where(Workspace.id == shop.workspace_id).values(hash_key=None)
        )
    service._HASH_KEYS.pop(shop.workspace_id, None)
    keys = _at_once(engine, lambda conn: service.hash_key(conn, shop.workspace_id))
    service._HASH_KEYS.pop(shop.workspace_id, None)
    with engine.connect() as conn:
        kept = service.hash_key(conn, shop.workspace_id)
    assert set(keys) == {kept}
