"""Bulk catalog input: a body of lines applied in one transaction (the API), and a file
imported in committed batches that a re-run resumes after the last committed line (the CLI)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from sqlalchemy import Connection, Engine, select

from nerve.catalog import lines as catalog_lines
from nerve.catalog import service
from nerve.catalog.lines import Line
from nerve.catalog.models import CatalogImport
from nerve.catalog.schemas import InventoryIn, ProductIn
from nerve.db.base import table, utcnow
from nerve.db.dialect import dialect_of
from nerve.db.engine import write_transaction

BATCH = 1000
# The import keeps the first failures with their lines; the count goes on.
_KEPT_FAILURES = 1000
Format = Literal["ndjson", "csv"]


@dataclass
class Outcome:
    """What a bulk write did; `failed` holds {line, reason} for each refused line."""

    applied: int = 0
    changed: int = 0
    events: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"applied": self.applied, "changed": self.changed, "failed": self.failed,
                "events": self.events}  # fmt: skip


def _batches(items: Iterable[Line[Any]], size: int) -> Iterator[list[Line[Any]]]:
    batch: list[Line[Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _apply(conn: Connection, workspace_id: str, batch: list[Line[Any]], outcome: Outcome) -> None:
    good = [line.record for line in batch if line.record is not None]
    outcome.failed.extend(
        {"line": line.number, "reason": line.reason} for line in batch if line.record is None
    )
    if not good:
        return
    if isinstance(good[0], ProductIn):
        done = service.upsert_products(conn, workspace_id, good)
    else:
        done = service.update_inventory(conn, workspace_id, good)
    outcome.applied += done.applied
    outcome.changed += done.changed
    outcome.events += len(done.events)


def apply_lines(conn: Connection, workspace_id: str, lines: Iterable[Line[Any]]) -> Outcome:
    """Apply every valid line (products or stock changes) in the caller's transaction, in
    batches; the refused ones are reported with their numbers and reasons."""
    outcome = Outcome()
    for batch in _batches(lines, BATCH):
        _apply(conn, workspace_id, batch, outcome)
    return outcome


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def format_of(path: Path) -> Format:
    return "csv" if path.suffix.lower() == ".csv" else "ndjson"


@dataclass
class Progress:
    """Where an import of one file stands (a re-run continues after `lines_done`)."""

    file_hash: str
    lines_done: int = 0
    outcome: Outcome = field(default_factory=Outcome)
    failed_count: int = 0
    finished: bool = False
    resumed: bool = False


def _load_progress(engine: Engine, workspace_id: str, digest: str) -> Progress:
    imports = table(CatalogImport).c
    with engine.connect() as conn:
        row = conn.execute(select(table(CatalogImport)).where(
            imports.workspace_id == workspace_id, imports.file_hash == digest
        )).first()  # fmt: skip
    if row is None:
        return Progress(digest)
    outcome = Outcome(applied=row.applied, events=row.events, failed=list(row.failed))
    return Progress(digest, row.lines_done, outcome, row.failed_count,
                    finished=row.finished_at is not None, resumed=True)  # fmt: skip


def _save_progress(
    conn: Connection, workspace_id: str, name: str, progress: Progress, *, finished: bool
) -> None:
    row = {
        "workspace_id": workspace_id, "file_hash": progress.file_hash, "file_name": name[:1000],
        "lines_done": progress.lines_done, "applied": progress.outcome.applied,
        "failed": progress.outcome.failed[:_KEPT_FAILURES],
        "failed_count": progress.failed_count, "events": progress.outcome.events,
        "finished_at": utcnow() if finished else None,
    }  # fmt: skip
    statement = dialect_of(conn).upsert(
        table(CatalogImport), ["workspace_id", "file_hash"],
        ["file_name", "lines_done", "applied", "failed", "failed_count", "events", "finished_at"],
    )  # fmt: skip
    conn.execute(statement, row)


def _records(
    kind: Literal["products", "inventory"], fmt: Format, file: IO[bytes]
) -> Iterator[Line[Any]]:
    model: type[ProductIn] | type[InventoryIn] = ProductIn if kind == "products" else InventoryIn
    if fmt == "csv":
        text = (raw.decode("utf-8-sig", errors="replace") for raw in file)
        return catalog_lines.csv_rows(model, text)
    return catalog_lines.ndjson(model, file)


def import_file(
    engine: Engine, workspace_id: str, path: Path, *, fmt: Format | None = None,
    batch: int = BATCH, restart: bool = False, kind: Literal["products", "inventory"] = "products",
    on_progress: Callable[[int], None] = lambda _: None,
) -> Progress:  # fmt: skip
    """Import a file of products (or stock changes), committing every `batch` lines; a re-run
    of the same file (by content) continues after the last committed line, unless `restart`.
    `on_progress` gets the bytes read so far after each commit."""
    progress = _load_progress(engine, workspace_id, file_hash(path))
    if restart:
        progress = Progress(progress.file_hash)
    elif progress.finished:
        return progress
    with path.open("rb") as file:
        pending = (line for line in _records(kind, fmt or format_of(path), file)
                   if line.number > progress.lines_done)  # fmt: skip
        for lines in _batches(pending, batch):
            with write_transaction(engine) as conn:
                before = len(progress.outcome.failed)
                _apply(conn, workspace_id, lines, progress.outcome)
                progress.failed_count += len(progress.outcome.failed) - before
                progress.lines_done = lines[-1].number
                _save_progress(conn, workspace_id, path.name, progress, finished=False)
            on_progress(file.tell())
    with write_transaction(engine) as conn:
        _save_progress(conn, workspace_id, path.name, progress, finished=True)
    progress.finished = True
    return progress
