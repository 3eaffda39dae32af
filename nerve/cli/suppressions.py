"""`nerve suppressions`: the suppression list — imported from and exported to CSV, an address
taken off — and the bounce mailbox read by hand."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from nerve.auth.roles import Permission
from nerve.cli.output import (
    DEFAULT_WORKSPACE,
    JsonFlag,
    WorkspaceOption,
    emit,
    err_console,
    fail,
)
from nerve.cli.session import authorized, session
from nerve.errors import InvalidInput

app = typer.Typer(
    help="The suppression list (bounces, complaints, unsubscribes): import, export, remove.",
    no_args_is_help=True,
)


@app.command("import")
def import_list(
    file: Annotated[
        Path,
        typer.Argument(
            help="A CSV file: a header naming `email` (or `address`), optional `reason` "
            "(hard_bounce, complaint, unsubscribed, manual: the default) and `detail`; or one "
            "address per line without a header."
        ),
    ],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """Add the file's addresses to the list. Good lines apply; each refused line is reported
    with its line number."""
    from nerve.channels import suppressions

    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        fail(InvalidInput(f"cannot read {exc.filename}: {exc.strerror}"), as_json)
    except UnicodeDecodeError:
        fail(InvalidInput(f"{file} is not UTF-8 text"), as_json)
    with session(Permission.SUPPRESSIONS_WRITE, workspace, as_json) as (conn, principal):
        entries, rejected = suppressions.read_csv(text)
        done = suppressions.add(conn, principal.workspace_id, entries, rejected,
                                actor=principal.key_id)  # fmt: skip
    result = {"imported": done.imported, "unchanged": done.unchanged, "rejected": done.rejected}
    if not as_json:
        for refused in done.rejected:
            err_console.print(f"line {refused['line']}: {escape(refused['reason'])}")
    emit(as_json, result, f"{done.imported} address(es) suppressed, {done.unchanged} listed "
                          f"already, {len(done.rejected)} line(s) refused")  # fmt: skip


@app.command("export")
def export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the CSV here, not to stdout.")
    ] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """The whole list as CSV: address_hash, channel, reason, detail, created_at (addresses
    are kept as keyed hashes, never in the clear). With --json and no --output, the rows as
    one JSON object."""
    from nerve.channels import suppressions

    with session(Permission.SUPPRESSIONS_READ, workspace, as_json, write=False) as (
        conn,
        principal,
    ):
        rows = suppressions.exported(conn, principal.workspace_id)
        if output is None and as_json:
            emit(True, {"data": [_json(row) for row in rows]}, "")
            return
        written = 0

        def counted() -> Iterator[dict[str, Any]]:
            nonlocal written
            for row in rows:
                written += 1
                yield row

        try:
            opened = output.open("w", encoding="utf-8", newline="") if output else None
            with opened or contextlib.nullcontext(sys.stdout) as out:
                for piece in suppressions.as_csv(counted()):
                    out.write(piece)
        except OSError as exc:
            fail(InvalidInput(f"cannot write {exc.filename}: {exc.strerror}"), as_json)
    if output is not None:
        emit(as_json, {"exported": written, "output": str(output)},
             f"{written} suppression(s) written to {escape(str(output))}")  # fmt: skip


@app.command("remove")
def remove(
    email: Annotated[str, typer.Argument(help="The address to take off the list")],
    reason: Annotated[
        str | None, typer.Option(help="Only this reason (hard_bounce, complaint, ...)")
    ] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """Take an address off the list (a bounce that was the receiving server's mistake);
    recorded in the audit log."""
    from nerve.channels import suppressions

    with session(Permission.SUPPRESSIONS_WRITE, workspace, as_json) as (conn, principal):
        address_hash, reasons = suppressions.remove(
            conn, principal.workspace_id, email=email, reason=reason, actor=principal.key_id
        )
    emit(as_json, {"address_hash": address_hash, "reasons": reasons},
         f"removed from the suppression list ({', '.join(reasons)})")  # fmt: skip


@app.command("read-bounces")
def read_bounces(
    maildir: Annotated[
        Path | None, typer.Option(help="The Maildir; NERVE_BOUNCE_MAILDIR when not given.")
    ] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """Act on the bounce and complaint mails in the bounce mailbox now (the worker does it
    every 30 seconds). A report naming no message Nerve sent applies in --workspace."""
    from nerve.channels import bounce_mailbox

    with (
        _logs_to_stderr(),
        authorized(Permission.FEEDBACK_WRITE, workspace, as_json) as (services, _principal),
    ):
        path = maildir or (Path(services.settings.bounce_maildir)
                           if services.settings.bounce_maildir else None)  # fmt: skip
        if path is None:
            fail(InvalidInput("give --maildir or set NERVE_BOUNCE_MAILDIR"), as_json)
        done = bounce_mailbox.read_bounces(services.engine, path, workspace)
    emit(as_json, {"handled": done.handled, "unreadable": done.unreadable,
                   "suppressed": done.suppressed},
         f"{done.handled} mail(s) handled, {done.suppressed} of them suppressing; "
         f"{done.unreadable} unreadable (moved to {bounce_mailbox.UNREADABLE}/)")  # fmt: skip


def _json(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "created_at": row["created_at"].isoformat()}


@contextlib.contextmanager
def _logs_to_stderr() -> Iterator[None]:
    """What the work logs (each report applied) goes to stderr: stdout holds the result."""
    import structlog

    saved = structlog.get_config()
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    try:
        yield
    finally:
        structlog.configure(**saved)
