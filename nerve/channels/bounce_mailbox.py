"""The bounce mailbox: a Maildir (NERVE_BOUNCE_MAILDIR) the MTA delivers bounces and abuse
reports to. The worker reads its new mails every half minute and acts on each report
(nerve/channels/feedback.py); `nerve suppressions read-bounces` does the same by hand.

Maildir is the MTA's own format for this: a mail appears in `new/` complete (it is written to
`tmp/` and renamed), and a rename is atomic. A handled mail moves to `cur/` marked seen
(`:2,S`), so it is read once; one Nerve cannot act on (not a DSN or ARF report, or naming no
address) moves to the Maildir++ folder `.Unreadable/`, where a mail client shows it, and is
logged. A crash between acting and moving reads the mail again: the same report again changes
nothing more, and two workers reading the same Maildir at once do no harm either.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from nerve.channels import feedback
from nerve.db.engine import write_transaction
from nerve.errors import InvalidInput
from nerve.settings import Settings
from nerve.workspaces import service as workspaces

log = structlog.get_logger(__name__)

UNREADABLE = ".Unreadable"
_SEEN = ":2,S"  # Maildir's info: version 2, flag Seen
_PER_ROUND = 1000


@dataclass
class Read:
    handled: int = 0
    unreadable: int = 0
    suppressed: int = 0  # reports that listed an address or marked a message


def read_bounces(
    engine: Engine, maildir: Path, fallback_workspace: str = workspaces.DEFAULT_WORKSPACE
) -> Read:
    """Act on the reports in the Maildir's new mails (at most a thousand a call). A report
    whose Message-ID is not in the message log applies in `fallback_workspace` (a name)."""
    new = maildir / "new"
    if not new.is_dir() or not (maildir / "cur").is_dir():
        raise InvalidInput(f"{maildir} is not a Maildir (it needs new/ and cur/ folders)")
    done = Read()
    names = sorted(name for name in os.listdir(new) if not name.startswith("."))
    for name in names[:_PER_ROUND]:
        try:
            raw = (new / name).read_bytes()
        except FileNotFoundError:  # another worker moved it a moment ago
            continue
        except OSError as exc:  # not a file (a folder someone made): leave it, read the rest
            log.warning("bounce_mail_unreadable", file=name, reason=str(exc))
            continue
        try:
            suppressed = _apply(engine, raw, fallback_workspace)
        except OperationalError:  # the database is away or busy: the next round tries again
            raise
        except Exception as exc:  # one poisonous mail must not block the rest: put it aside
            why = exc.message if isinstance(exc, InvalidInput) else f"{type(exc).__name__}: {exc}"
            _move_aside(maildir, name, why)
            done.unreadable += 1
            continue
        _move(new / name, maildir / "cur" / (name.partition(":")[0] + _SEEN))
        done.handled += 1
        done.suppressed += suppressed
    if done.handled or done.unreadable:
        log.info("bounce_mailbox_read", maildir=str(maildir), handled=done.handled,
                 unreadable=done.unreadable, suppressed=done.suppressed)  # fmt: skip
    return done


def _apply(engine: Engine, raw: bytes, fallback_workspace: str) -> int:
    reports = feedback.parse(raw)
    with write_transaction(engine) as conn:
        fallback = workspaces.ensure_workspace(conn, fallback_workspace)
        applied = [a for report in reports for a in feedback.apply_anywhere(conn, report, fallback)]
        if any(a.outcome == "unknown_recipient" for a in applied):
            # Rolled back: nothing of a mail that is put aside is applied.
            raise InvalidInput("a report names no address and no message Nerve sent")
    return sum(a.outcome == "suppressed" for a in applied)


def _move_aside(maildir: Path, name: str, why: str) -> None:
    folder = maildir / UNREADABLE
    for part in ("tmp", "new", "cur"):
        (folder / part).mkdir(parents=True, exist_ok=True)
    # A Maildir++ folder also holds a `maildirfolder` file (what Dovecot and Courier look for).
    (folder / "maildirfolder").touch(exist_ok=True)
    if _move(maildir / "new" / name, folder / "new" / name):
        log.warning("bounce_mail_unreadable", file=name, reason=why,
                    moved_to=str(folder / "new"))  # fmt: skip


def _move(source: Path, target: Path) -> bool:
    try:
        os.rename(source, target)
    except FileNotFoundError:  # another worker moved it first
        return False
    return True


class BounceMailbox:
    """The worker's periodic read of the bounce mailbox, on a thread (database and files
    block). An error (the database unreachable) is logged and the next round tries again."""

    def __init__(self, engine: Engine, maildir: Path, every_seconds: float = 30.0) -> None:
        self.engine, self.maildir, self.every_seconds = engine, maildir, every_seconds
        self._task: asyncio.Task[None] | None = None
        self._wakeup = asyncio.Event()
        self._stopping = False

    @classmethod
    def configured(cls, engine: Engine, settings: Settings) -> BounceMailbox | None:
        """The reader of NERVE_BOUNCE_MAILDIR, or None when it is not set."""
        if not settings.bounce_maildir:
            return None
        return cls(engine, Path(settings.bounce_maildir))

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="bounce-mailbox")

    def wake(self) -> None:
        """Read now rather than at the next round."""
        self._wakeup.set()

    async def close(self) -> None:
        """Stop after the round in hand (a thread cannot be cancelled halfway)."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await asyncio.to_thread(read_bounces, self.engine, self.maildir)
            except Exception as exc:  # advice only: the next round tries again
                log.error("bounce_mailbox_failed", maildir=str(self.maildir), error=str(exc))
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.every_seconds)
