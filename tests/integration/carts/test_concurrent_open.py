"""Two heads opening a new customer's first cart at the same moment get one cart, not two
(on PostgreSQL the second insert waits for the first and then reads its cart)."""

from __future__ import annotations

import threading

from sqlalchemy import Engine

from nerve.carts import service as carts
from nerve.db.base import utcnow
from nerve.db.engine import write_transaction
from tests.factories import Shop


def test_two_first_opens_at_once_make_one_cart(engine: Engine, shop: Shop) -> None:
    opened: list[tuple[str, bool]] = []
    start = threading.Barrier(8)

    def open_one() -> None:
        start.wait()
        with write_transaction(engine) as conn:
            cart, created = carts.open_cart(
                conn, shop.workspace_id, "anonymous_id:new-app", utcnow()
            )
        opened.append((cart["id"], created))

    threads = [threading.Thread(target=open_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(opened) == 8
    assert len({cart_id for cart_id, _ in opened}) == 1
    assert sum(created for _, created in opened) == 1  # one opened it, the others found it
