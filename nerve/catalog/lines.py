"""Reading bulk catalog input line by line: NDJSON or CSV products and stock changes, each
line validated on its own, so a bad line is reported with its number and reason while the
good ones apply."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
# CSV cells holding lists separate their items with "|" (a comma is the cell separator).
LIST_SEPARATOR = "|"
_LIST_COLUMNS = ("tags", "collections")
_ATTRIBUTE_PREFIX = "attributes."


@dataclass(frozen=True)
class Line(Generic[M]):
    """One input line: its 1-based number and either the valid record or why it is refused."""

    number: int
    record: M | None
    reason: str | None = None


def reason_of(error: ValidationError) -> str:
    """What is wrong with a record, one clause per field: "price: 'x' is not an amount"."""
    parts = []
    for problem in error.errors(include_url=False):
        where = ".".join(str(p) for p in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def validated(model: type[M], number: int, document: Any) -> Line[M]:
    if not isinstance(document, dict):
        return Line(number, None, "not a JSON object")
    try:
        return Line(number, model.model_validate(document))
    except ValidationError as error:
        return Line(number, None, reason_of(error))


def ndjson(model: type[M], lines: Iterable[bytes | str], first: int = 1) -> Iterator[Line[M]]:
    """Each non-blank line of NDJSON as a record of `model`, numbered from `first`."""
    for number, raw in enumerate(lines, start=first):
        if not raw.strip():
            continue
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            yield Line(number, None, f"not JSON: {error}")
            continue
        escaped = b"\\u0000" in raw if isinstance(raw, bytes) else "\\u0000" in raw
        if escaped and _holds_nul(document):
            yield Line(number, None, "text may not contain NUL (\\u0000) characters")
            continue
        yield validated(model, number, document)


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def json_items(model: type[M], items: list[Any]) -> Iterator[Line[M]]:
    """The items of a JSON list, numbered from 1."""
    for number, item in enumerate(items, start=1):
        yield validated(model, number, item)


def _from_cells(row: dict[str, str | None]) -> dict[str, Any]:
    """A CSV row as the record's fields: empty cells left out, `tags` and `collections`
    split on "|", `attributes.size` columns gathered into `attributes`."""
    document: dict[str, Any] = {}
    attributes: dict[str, str] = {}
    for column, cell in row.items():
        if column is None or cell is None or cell == "":
            continue
        if column in _LIST_COLUMNS:
            document[column] = [v.strip() for v in cell.split(LIST_SEPARATOR) if v.strip()]
        elif column.startswith(_ATTRIBUTE_PREFIX):
            attributes[column.removeprefix(_ATTRIBUTE_PREFIX)] = cell
        elif column == "attributes":
            try:
                document[column] = orjson.loads(cell)
            except orjson.JSONDecodeError:
                document[column] = cell  # validation says it is not an object
        else:
            document[column] = cell
    if attributes:
        document["attributes"] = document.get("attributes", {}) | attributes
    return document


def csv_rows(model: type[M], lines: Iterable[str]) -> Iterator[Line[M]]:
    """Each data row of CSV with a header, numbered by the line it starts on (the header is
    line 1). A row with more cells than the header has columns is refused."""
    reader = csv.DictReader(lines, restkey="\x00extra")
    if reader.fieldnames is None:  # reads the header
        return
    number = reader.line_num + 1
    for row in reader:
        if "\x00extra" in row:
            yield Line(number, None, "more cells than the header has columns")
        elif "\x00" in "".join(v or "" for v in row.values()):
            yield Line(number, None, "text may not contain NUL characters")
        else:
            yield validated(model, number, _from_cells(row))
        number = reader.line_num + 1
