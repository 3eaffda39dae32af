"""`nerve catalog import`'s path: a file imported in committed batches; stopped midway, a
re-run continues after the last committed line and applies nothing twice."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine

from nerve.catalog import imports, service
from tests.factories import make_shop


class Stop(Exception):
    pass


def test_an_interrupted_import_resumes_after_the_last_committed_line(
    engine: Engine, tmp_path: Path
) -> None:
    shop = make_shop(engine)
    path = tmp_path / "catalog.ndjson"
    lines = [{"sku": f"S{i:04d}", "name": f"P {i}", "price": "5.00", "currency": "EUR"}
             for i in range(1000)]  # fmt: skip
    lines[41]["price"] = "five"
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    commits = 0

    def stop_after_three(_: int) -> None:
        nonlocal commits
        commits += 1
        if commits == 3:
            raise Stop  # as a crash or Ctrl-C would, after the third commit

    with pytest.raises(Stop):
        imports.import_file(engine, shop.workspace_id, path, batch=100,
                            on_progress=stop_after_three)  # fmt: skip
    done = imports.import_file(engine, shop.workspace_id, path, batch=100)
    assert done.resumed and done.lines_done == 1000 and done.finished
    assert done.outcome.applied == 999  # 299 before the stop, 700 after: none twice
    assert done.outcome.failed == [{"line": 42, "reason": "price: 'five' is not an amount"}]
    with engine.connect() as conn:
        assert len(service.offers(conn, shop.workspace_id, [line["sku"] for line in lines])) == 999
    again = imports.import_file(engine, shop.workspace_id, path)  # finished: nothing to do
    assert again.outcome.applied == 999 and again.finished


def test_a_csv_file_reads_lists_and_attribute_columns(engine: Engine, tmp_path: Path) -> None:
    shop = make_shop(engine)
    path = tmp_path / "catalog.csv"
    path.write_text(
        "sku,name,price,currency,tags,collections,attributes.size,category\n"
        'A,"Tee, red",9.99,EUR,cotton|summer,Summer,XL,Apparel > Shirts\n'
        "B,Tee,9.99,EUR,,,M,Apparel > Shirts,extra cell\n"
    )
    done = imports.import_file(engine, shop.workspace_id, path)
    assert done.outcome.applied == 1
    assert done.outcome.failed == [{"line": 3, "reason": "more cells than the header has columns"}]
    with engine.connect() as conn:
        product = service.product(conn, shop.workspace_id, "A")
    assert product["name"] == "Tee, red" and product["tags"] == ["cotton", "summer"]
    assert product["attributes"] == {"size": "XL"} and product["category"] == "Apparel > Shirts"
