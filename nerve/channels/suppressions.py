"""The suppression list: addresses no mail goes to (hard bounces, complaints, unsubscribes,
entries imported from the shop's former mail provider), read, exported and imported as CSV,
taken off one address at a time, and fed by bounce and complaint reports.

The list holds keyed hashes of the normalised addresses (the workspace's key, as for erased
people), never an address: an export cannot leak the shop's customers, and an address is
found by hashing it. Details that would repeat the address (an SMTP answer often does) have it
replaced by `(address)`.
"""

from __future__ import annotations

import base64
import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, delete, select, tuple_

from nerve.audit import service as audit
from nerve.channels.models import Suppression
from nerve.db.dialect import dialect_of
from nerve.errors import InvalidInput, NotFound
from nerve.identity.extract import normalize_email
from nerve.privacy.suppression import identifier_hash
from nerve.workspaces import service as workspaces

REASONS = ("hard_bounce", "complaint", "unsubscribed", "manual")
# An imported address without a reason blocks all mail, transactional too: the safe guess for
# a list from another provider, whose reasons are often not exported.
DEFAULT_REASON = "manual"
CSV_COLUMNS = ("address_hash", "channel", "reason", "detail", "created_at")
ADDRESS_COLUMNS = ("email", "address", "email address", "e-mail", "email_address")
_CHUNK = 500
_CHANNEL = "email"


@dataclass(frozen=True)
class Entry:
    """One address to suppress, normalised, and where it came from (line or index)."""

    address: str
    reason: str
    detail: str | None
    line: int | None = None
    index: int | None = None


@dataclass
class Imported:
    imported: int = 0
    unchanged: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


def hash_of(conn: Connection, workspace_id: str, address: str) -> str:
    """The keyed hash an address is listed under (InvalidInput: not an email address)."""
    normal = normal_address(address)
    if normal is None:
        raise InvalidInput(f"not an email address: {address[:100]!r}")
    return identifier_hash(workspaces.hash_key(conn, workspace_id), normal)


# -- reading -------------------------------------------------------------------------------


def listed(
    conn: Connection,
    workspace_id: str,
    *,
    reason: str | None = None,
    email: str | None = None,
    address_hash: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the list, newest first, and the cursor of the next page (None: the last)."""
    query = _rows(workspace_id)
    if reason is not None:
        query = query.where(Suppression.reason == reason)
    if address_hash is not None:
        query = query.where(Suppression.address_hash == address_hash.lower())
    if email is not None:
        if normal_address(email) is None:
            raise InvalidInput(f"not an email address: {email[:100]!r}")
        if not _any(conn, workspace_id):  # nothing listed yet: no key to hash with either
            return [], None
        query = query.where(Suppression.address_hash == hash_of(conn, workspace_id, email))
    offset = _decode(cursor) if cursor is not None else 0
    order = (Suppression.created_at.desc(), Suppression.address_hash, Suppression.reason)
    rows = [dict(r._mapping) for r in conn.execute(
        query.order_by(*order).offset(offset).limit(limit + 1))]  # fmt: skip
    more = len(rows) > limit
    return rows[:limit], _encode(offset + limit) if more else None


def exported(conn: Connection, workspace_id: str) -> Iterator[dict[str, Any]]:
    """Every row, in the order of the list's key (its hashes: no order a reader could learn
    from), read a chunk at a time: a list may hold millions."""
    key = (Suppression.address_hash, Suppression.reason)
    after: tuple[str, str] | None = None
    while True:
        query = _rows(workspace_id).where(Suppression.channel == _CHANNEL)
        if after is not None:
            query = query.where(tuple_(*key) > tuple_(*after))
        rows = [dict(r._mapping) for r in conn.execute(query.order_by(*key).limit(_CHUNK * 4))]
        yield from rows
        if len(rows) < _CHUNK * 4:
            return
        after = (rows[-1]["address_hash"], rows[-1]["reason"])


def as_csv(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The rows as CSV text, its header first, a few hundred rows per piece."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
    writer.writerow(CSV_COLUMNS)
    for count, row in enumerate(rows, 1):
        writer.writerow([row["address_hash"], row["channel"], row["reason"], row["detail"] or "",
                         row["created_at"].isoformat().replace("+00:00", "Z")])  # fmt: skip
        if count % _CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _rows(workspace_id: str) -> Any:
    return select(
        Suppression.address_hash, Suppression.channel, Suppression.reason, Suppression.detail,
        Suppression.created_at,
    ).where(Suppression.workspace_id == workspace_id)  # fmt: skip


def _any(conn: Connection, workspace_id: str) -> bool:
    found = conn.scalar(_rows(workspace_id).limit(1))
    return found is not None


def _encode(offset: int) -> str:
    # Opaque: an offset today (a page of a list that grows at its top may repeat a row).
    return base64.urlsafe_b64encode(orjson.dumps({"offset": offset})).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        offset = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if isinstance(offset, dict) and isinstance(offset.get("offset"), int):
            return min(max(int(offset["offset"]), 0), 2**62)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        pass
    raise InvalidInput("invalid cursor", details={"cursor": cursor[:200]})


# -- importing -----------------------------------------------------------------------------


def read_csv(text: str) -> tuple[list[Entry], list[dict[str, Any]]]:
    """The entries of a CSV list (a header naming `email` or `address`, optional `reason` and
    `detail`; or no header, one address per line) and the lines refused, each with its line
    number and why."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))  # Excel writes a BOM
    entries: list[Entry] = []
    rejected: list[dict[str, Any]] = []
    try:
        first = next(reader, None)
        if first is None:
            raise InvalidInput("the CSV is empty")
        header = [name.strip().lower() for name in first]
        columns = _columns(header)
        if columns is None:  # no header: addresses (maybe with reason and detail) from line 1
            columns = {"email": 0, "reason": 1, "detail": 2}
            reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            values = {name: cells[i] if i < len(cells) else "" for name, i in columns.items()}
            _add(entries, rejected, values, line=reader.line_num)
    except csv.Error as exc:  # a field past the csv module's limit: nothing after it is read
        why = f"not CSV ({exc}): this line and the rest were not read"
        rejected.append({"line": reader.line_num, "index": None, "reason": why})
    return entries, rejected


def _columns(header: list[str]) -> dict[str, int] | None:
    address = next((header.index(name) for name in ADDRESS_COLUMNS if name in header), None)
    if address is None:
        if header and "@" in header[0]:
            return None
        raise InvalidInput(
            "the CSV needs a header row with an `email` (or `address`) column",
            details={"columns": header[:20]},
        )
    found = {"email": address}
    for name in ("reason", "detail"):
        if name in header:
            found[name] = header.index(name)
    return found


def read_json(data: Any) -> tuple[list[Entry], list[dict[str, Any]]]:
    """The entries of `{"entries": [{"email", "reason", "detail"}, ...]}`, and the refused ones
    with their index."""
    items = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise InvalidInput('send {"entries": [{"email": ..., "reason": ..., "detail": ...}]}')
    entries: list[Entry] = []
    rejected: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            rejected.append({"line": None, "index": index, "reason": "not an object"})
            continue
        values = {name: item.get(name) for name in ("email", "reason", "detail")}
        if values["email"] is None:
            values["email"] = item.get("address")
        _add(entries, rejected, values, index=index)
    return entries, rejected


def _add(
    entries: list[Entry],
    rejected: list[dict[str, Any]],
    values: dict[str, Any],
    line: int | None = None,
    index: int | None = None,
) -> None:
    where = {"line": line, "index": index}
    address, reason, detail = (values.get(n) for n in ("email", "reason", "detail"))
    if not isinstance(address, str) or not address.strip():
        rejected.append(where | {"reason": "no email address"})
        return
    normal = normal_address(address)
    if normal is None:
        rejected.append(where | {"reason": f"not an email address: {address.strip()[:100]!r}"})
        return
    reason = reason.strip().lower() if isinstance(reason, str) and reason.strip() else None
    if reason is not None and reason not in REASONS:
        rejected.append(where | {"reason": f"unknown reason {reason[:40]!r}: one of "
                                           f"{', '.join(REASONS)}"})  # fmt: skip
        return
    if detail is not None and not isinstance(detail, str):
        rejected.append(where | {"reason": "`detail` is not text"})
        return
    detail = redacted(detail.strip(), normal, address) if detail and detail.strip() else None
    entries.append(Entry(normal, reason or DEFAULT_REASON, detail, line, index))


def add(
    conn: Connection,
    workspace_id: str,
    entries: list[Entry],
    rejected: list[dict[str, Any]],
    *,
    actor: str,
) -> Imported:
    """Suppress the entries (those already listed stay as they are); InvalidInput naming each
    refused line when none is valid."""
    if not entries:
        raise InvalidInput(
            "nothing to import: no valid line" if rejected else "nothing to import",
            details=rejected[:1000] or None,
        )
    key = workspaces.hash_key(conn, workspace_id)
    result = Imported(rejected=rejected)
    seen: set[tuple[str, str]] = set()
    for start in range(0, len(entries), _CHUNK):
        chunk = entries[start : start + _CHUNK]
        rows = {}
        for entry in chunk:
            pair = (identifier_hash(key, entry.address), entry.reason)
            if pair not in seen:
                seen.add(pair)
                rows[pair] = {"workspace_id": workspace_id, "channel": _CHANNEL,
                              "address_hash": pair[0], "reason": entry.reason,
                              "detail": (entry.detail or "imported")[:1000]}  # fmt: skip
        listed_before = _listed(conn, workspace_id, list(rows))
        new = [row for pair, row in rows.items() if pair not in listed_before]
        if new:
            conn.execute(_insert(conn), new)
        result.imported += len(new)
        result.unchanged += len(chunk) - len(new)
    audit.record(conn, workspace_id, actor, "suppressions.imported", f"{result.imported} new")
    return result


def _listed(
    conn: Connection, workspace_id: str, pairs: list[tuple[str, str]]
) -> set[tuple[str, str]]:
    hashes = {address_hash for address_hash, _ in pairs}
    found = conn.execute(
        select(Suppression.address_hash, Suppression.reason).where(
            Suppression.workspace_id == workspace_id,
            Suppression.channel == _CHANNEL,
            Suppression.address_hash.in_(hashes),
        )
    )
    return {(row.address_hash, row.reason) for row in found}


def _insert(conn: Connection) -> Any:
    return dialect_of(conn).insert_ignoring_duplicates(
        Suppression.__table__, ["workspace_id", "channel", "address_hash", "reason"]
    )


# -- removing ------------------------------------------------------------------------------


def remove(
    conn: Connection,
    workspace_id: str,
    *,
    email: str | None = None,
    address_hash: str | None = None,
    reason: str | None = None,
    actor: str,
) -> tuple[str, list[str]]:
    """Take an address (by itself or by its hash) off the list — every reason, or one — and
    audit it: (its hash, the reasons removed). NotFound when it was not listed."""
    if (email is None) == (address_hash is None):
        raise InvalidInput("name the address by `email` or by `address_hash`, one of them")
    if email is not None:
        address_hash = hash_of(conn, workspace_id, email)
    assert address_hash is not None
    address_hash = address_hash.lower()
    where = [Suppression.workspace_id == workspace_id, Suppression.channel == _CHANNEL,
             Suppression.address_hash == address_hash]  # fmt: skip
    if reason is not None:
        where.append(Suppression.reason == reason)
    reasons = sorted(conn.scalars(select(Suppression.reason).where(*where)))
    if not reasons:
        raise NotFound("the address is not on the suppression list" +
                       (f" for {reason}" if reason else ""))  # fmt: skip
    conn.execute(delete(Suppression).where(*where))
    audit.record(conn, workspace_id, actor, "suppression.removed", address_hash)
    return address_hash, reasons


def suppress(conn: Connection, workspace_id: str, address: str, reason: str, detail: str) -> bool:
    """List a normalised address for `reason` (True), unless it already is (False)."""
    address_hash = identifier_hash(workspaces.hash_key(conn, workspace_id), address)
    if _listed(conn, workspace_id, [(address_hash, reason)]):
        return False
    conn.execute(_insert(conn), [{"workspace_id": workspace_id, "channel": _CHANNEL,
                                  "address_hash": address_hash, "reason": reason,
                                  "detail": detail[:1000]}])  # fmt: skip
    return True


def normal_address(address: str | None) -> str | None:
    """The address as the send path hashes it (nerve.identity), when it looks like one."""
    normal = normalize_email(address.strip()) if address else None
    if normal is None:
        return None
    local, _, domain = normal.rpartition("@")
    if not local or not domain or any(c in normal for c in ",;<>()[]\\\"'"):
        return None
    return normal


def redacted(detail: str, *addresses: str) -> str:
    """The detail without the address in it (an SMTP answer often repeats it)."""
    for address in {a.strip() for a in addresses if a and a.strip()}:
        detail = re.sub(re.escape(address), "(address)", detail, flags=re.IGNORECASE)
    return " ".join(detail.split())
