"""`nerve audiences`: segments kept in sync with ad platforms' custom audiences (hashed
identifiers, consent respected), and their CSV export."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from nerve.auth.roles import Permission
from nerve.cli.output import DEFAULT_WORKSPACE, JsonFlag, WorkspaceOption, console, echo_json, emit
from nerve.cli.session import authorized, session
from nerve.errors import InvalidInput

if TYPE_CHECKING:
    from nerve.audiences.service import AudienceInfo

app = typer.Typer(
    help="Audiences: segments synced to ad platforms, hashed, with consent.",
    no_args_is_help=True,
)

IdArgument = Annotated[str, typer.Argument(help="The audience's id (aud_…).")]


def _json(audience: AudienceInfo) -> dict[str, Any]:
    return {key: value.isoformat() if hasattr(value, "isoformat") else value
            for key, value in asdict(audience).items()}  # fmt: skip


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The audience's name, sent with each batch.")],
    segment: Annotated[str, typer.Option(help="The segment's key.")],
    destination: Annotated[str, typer.Option(help="webhook or csv (export only).")] = "webhook",
    endpoint: Annotated[
        str | None, typer.Option(help="With webhook: the webhook endpoint's name.")
    ] = None,
    consent_topic: Annotated[
        str | None, typer.Option(help="Send only people subscribed to this consent topic.")
    ] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """Keep a segment in sync with a destination: its members now, then every entry and
    exit, as SHA-256 hashes of their emails and phones."""
    from nerve.audiences import service

    new = service.NewAudience(name, segment, destination, endpoint, consent_topic)
    with session(Permission.AUDIENCES_MANAGE, workspace, as_json) as (conn, principal):
        made = service.create(conn, principal.workspace_id, new, actor=principal.key_id)
    emit(as_json, _json(made), f"audience {escape(name)} ({made.id}) syncs segment "
         f"{escape(segment)} to {escape(destination)}")  # fmt: skip


@app.command("list")
def list_audiences(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False
) -> None:
    """The audiences with status, counts and lag."""
    from rich.table import Table

    from nerve.audiences import service

    with session(Permission.AUDIENCES_READ, workspace, as_json, write=False) as (conn, who):
        found = service.listed(conn, who.workspace_id)
    if as_json:
        echo_json({"data": [_json(audience) for audience in found]})
        return
    table = Table("id", "name", "segment", "destination", "status", "members", "lag",
                  "last error", box=None, pad_edge=False, highlight=False)  # fmt: skip
    for a in found:
        table.add_row(a.id, a.name, a.segment, a.endpoint or a.destination,
                      f"{a.status} ({a.phase})", str(a.members), str(a.pending_changes),
                      escape(a.last_error or ""))  # fmt: skip
    console.print(table)
    console.print(f"{len(found)} audience(s)")


@app.command("export")
def export(
    audience_id: IdArgument,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the CSV here, not to stdout.")
    ] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """The segment's current members who allow the topic, as CSV of their hashes
    (email_sha256, phone_sha256, phone_e164_sha256, external_id), written page by page. With
    --json, --output is needed (stdout is for the JSON)."""
    from nerve.audiences import export as exported

    with authorized(Permission.AUDIENCES_READ, workspace, as_json) as (services, principal):
        if as_json and output is None:
            raise InvalidInput("with --json, give --output FILE: the export is CSV")
        lines = exported.rows(services.engine, principal.workspace_id, audience_id)
        written = -1  # the header is no record
        try:
            opened = output.open("w", encoding="utf-8", newline="") if output else None
            with opened or contextlib.nullcontext(sys.stdout) as out:
                for piece in lines:
                    out.write(piece)
                    written += piece.count("\r\n")
        except OSError as exc:
            raise InvalidInput(f"cannot write {exc.filename}: {exc.strerror}") from None
    if output is not None:
        emit(as_json, {"exported": written, "output": str(output)},
             f"{written} record(s) written to {escape(str(output))}")  # fmt: skip


@app.command("remove")
def remove(
    audience_id: IdArgument, workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:  # fmt: skip
    """Stop and forget the sync; the platform's audience itself is left as it is."""
    from nerve.audiences import service

    with session(Permission.AUDIENCES_MANAGE, workspace, as_json) as (conn, principal):
        service.remove(conn, principal.workspace_id, audience_id, actor=principal.key_id)
    emit(as_json, {"deleted": audience_id}, f"audience {escape(audience_id)} deleted")
