"""The bounce mailbox (NERVE_BOUNCE_MAILDIR): each bounce or complaint mail in the Maildir is
applied once and moved to cur/, a mail that is no report is put aside; the worker reads it on
its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from nerve.app import create_app
from nerve.channels import messages
from nerve.channels.bounce_mailbox import read_bounces
from nerve.channels.models import Message, Suppression
from nerve.db.engine import write_transaction
from nerve.errors import InvalidInput
from nerve.settings import Settings
from tests.bounces import arf, dsn
from tests.factories import Shop
from tests.waiting import until


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    for part in ("new", "cur", "tmp"):
        (tmp_path / "Maildir" / part).mkdir(parents=True)
    return tmp_path / "Maildir"


def _sent(engine: Engine, shop: Shop, key: str, recipient: str) -> str:
    """A message in the log as a send leaves it; its Message-ID."""
    message_id = messages.message_id(key, "shop.example")
    with write_transaction(engine) as conn:
        logged = messages.begin(conn, shop.workspace_id, key, channel="email",
                                kind="marketing", message_id=message_id, recipient=recipient)  # fmt: skip
        messages.finish(conn, logged.id, "sent")
    return message_id


def _deliver(maildir: Path, name: str, raw: bytes) -> None:
    """As an MTA delivers into a Maildir: written to tmp/, then renamed into new/."""
    (maildir / "tmp" / name).write_bytes(raw)
    (maildir / "tmp" / name).rename(maildir / "new" / name)


def _state(engine: Engine) -> tuple[dict[str, str], list[str]]:
    with engine.connect() as conn:
        statuses = dict(conn.execute(select(Message.recipient, Message.status)).all())
        reasons = sorted(conn.scalars(select(Suppression.reason)))
    return statuses, reasons  # type: ignore[return-value]


def test_each_report_in_the_maildir_is_applied_once(
    engine: Engine, shop: Shop, maildir: Path
) -> None:
    bounced = _sent(engine, shop, "run-1:remind:1", "gone@example.com")
    complained = _sent(engine, shop, "run-2:remind:1", "fed.up@example.com")
    _deliver(maildir, "1764493201.M1P1.mx", dsn(bounced, "gone@example.com"))
    _deliver(maildir, "1764493202.M2P1.mx", arf(complained))  # the recipient redacted
    _deliver(maildir, "1764493203.M3P1.mx", b"Subject: Out of office\r\n\r\nBack Monday.\r\n")
    _deliver(maildir, "1764493204.M4P1.mx", arf("<never-sent@shop.example>"))
    (maildir / "new" / "1764493200.folder").mkdir()  # not a mail: left alone, the rest read

    done = read_bounces(engine, maildir)
    assert (done.handled, done.unreadable, done.suppressed) == (2, 2, 2)
    statuses, reasons = _state(engine)
    assert statuses == {"gone@example.com": "bounced", "fed.up@example.com": "complained"}
    assert reasons == ["complaint", "hard_bounce"]
    assert [p.name for p in (maildir / "new").iterdir()] == ["1764493200.folder"]
    assert sorted(p.name for p in (maildir / "cur").iterdir()) == [
        "1764493201.M1P1.mx:2,S", "1764493202.M2P1.mx:2,S"]  # fmt: skip
    assert sorted(p.name for p in (maildir / ".Unreadable" / "new").iterdir()) == [
        "1764493203.M3P1.mx", "1764493204.M4P1.mx"]  # fmt: skip

    again = read_bounces(engine, maildir)
    assert (again.handled, again.unreadable) == (0, 0)
    _deliver(maildir, "1764493299.M9P1.mx", dsn(bounced, "gone@example.com"))  # sent twice
    copy = read_bounces(engine, maildir)
    assert (copy.handled, copy.suppressed) == (1, 0)
    assert _state(engine) == (statuses, reasons)

    with pytest.raises(InvalidInput):
        read_bounces(engine, maildir / "cur")


def test_the_worker_reads_the_bounce_mailbox(
    settings: Settings, engine: Engine, shop: Shop, maildir: Path
) -> None:
    bounced = _sent(engine, shop, "run-1:remind:1", "gone@example.com")
    _deliver(maildir, "1764493201.M1P1.mx", dsn(bounced, "gone@example.com"))
    reading = settings.model_copy(update={"bounce_maildir": str(maildir)})
    with TestClient(create_app(reading)):
        until(lambda: _state(engine)[1] == ["hard_bounce"])
        until(lambda: list((maildir / "cur").iterdir()))
    assert _state(engine)[0] == {"gone@example.com": "bounced"}
