"""`nerve slots`: check and save personalization slots (YAML or JSON files)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from nerve.auth.roles import Permission
from nerve.cli.output import DEFAULT_WORKSPACE, JsonFlag, WorkspaceOption, emit, fail
from nerve.cli.session import session
from nerve.errors import InvalidInput, InvalidSlot

app = typer.Typer(help="Personalization slots: validate, apply.", no_args_is_help=True)
FileArgument = Annotated[
    Path,
    typer.Argument(help="A slot in YAML or JSON: key, kind, default, variants, rules, "
                   "experiments (see docs/personalization.md)."),
]  # fmt: skip


def _read(path: Path, as_json: bool) -> Any:
    from nerve.personalization.definition import read

    try:
        return read(path.read_text())
    except OSError as exc:
        fail(InvalidInput(f"cannot read {exc.filename}: {exc.strerror}"), as_json)
    except InvalidSlot as exc:
        fail(exc, as_json)


@app.command("validate")
def validate(
    file: FileArgument, workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False
) -> None:
    """Check a slot as a save would (also that the segments it names exist); saves nothing."""
    from nerve.personalization import slots

    data = _read(file, as_json)
    with session(Permission.SLOTS_READ, workspace, as_json, write=False) as (conn, principal):
        slot = slots.check(conn, principal.workspace_id, data)
    emit(as_json, {"valid": True, "key": slot.key, "kind": slot.kind},
         f"[green]valid[/green] {slot.key}")  # fmt: skip


@app.command("apply")
def apply(
    file: FileArgument, workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False
) -> None:
    """Save the slot as its live version (unless it is unchanged); heads see it within
    seconds."""
    from nerve.personalization import slots

    data = _read(file, as_json)
    with session(Permission.SLOTS_WRITE, workspace, as_json) as (conn, principal):
        saved = slots.save(conn, principal.workspace_id, data, actor=principal.key_id)
    result = {"key": saved.key, "kind": saved.kind, "version": saved.version,
              "unchanged": saved.unchanged}  # fmt: skip
    human = f"{'unchanged' if saved.unchanged else 'saved'}: {saved.key} v{saved.version}"
    emit(as_json, result, human)
