"""`nerve segments`: validate, preview, apply (optionally waiting for the build) and list."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress

from nerve.auth.roles import Permission
from nerve.cli.output import DEFAULT_WORKSPACE, JsonFlag, WorkspaceOption, emit, fail
from nerve.cli.session import session
from nerve.errors import InvalidInput, InvalidSegment

app = typer.Typer(help="Segments: validate, preview, apply, list.", no_args_is_help=True)


def _read(path: Path, as_json: bool) -> Any:
    from nerve.flows.definition import read

    try:
        return read(path.read_text())
    except OSError as exc:
        fail(InvalidInput(f"cannot read {path}: {exc.strerror}"), as_json)
    except InvalidInput as exc:  # not YAML/JSON: the (file) problem
        fail(InvalidSegment(getattr(exc, "problems", [])), as_json)


@app.command("validate")
def validate(
    file: Path, workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False
) -> None:
    """Check a segment definition: each problem with its path and reason."""
    from nerve.segments import service

    data = _read(file, as_json)
    with session(Permission.SEGMENTS_READ, workspace, as_json, write=False) as (conn, who):
        definition = service.checked(conn, who.workspace_id, data)
    emit(as_json, {"valid": True, "key": definition.key},
         f"[green]valid[/green] {definition.key}")  # fmt: skip


@app.command("preview")
def preview(
    file: Path, workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False
) -> None:
    """How many people the definition holds now, and a sample — nothing is saved."""
    from nerve.segments import service

    data = _read(file, as_json)
    with session(Permission.SEGMENTS_WRITE, workspace, as_json, write=False) as (conn, who):
        found = service.preview(conn, who.workspace_id, data)
    emit(as_json, found, f"{found['key']}: {found['members']} people; e.g. "
         + (", ".join(found["sample"]) or "none"))  # fmt: skip


@app.command("apply")
def apply(
    file: Path,
    wait: Annotated[bool, typer.Option("--wait", help="Show the build's progress")] = False,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """A new version of the segment (built in the background), unless it is unchanged."""
    from nerve.segments import service

    data = _read(file, as_json)
    with session(Permission.SEGMENTS_WRITE, workspace, as_json) as (conn, who):
        applied = service.apply(conn, who.workspace_id, data)
    if wait and not applied["unchanged"]:
        applied["build"] = _follow(applied["key"], workspace, as_json)
    version = f"{applied['key']} v{applied['version']}"
    said = f"unchanged: {version}" if applied["unchanged"] else f"applied {version}"
    emit(as_json, applied, said)


def _follow(key: str, workspace: str, as_json: bool) -> Any:
    """Poll the build (run by `nerve worker` / `nerve serve`) until it is done."""
    from nerve.segments import service

    with Progress(disable=as_json, transient=True) as progress:
        task = progress.add_task(f"building {key}", total=None)
        while True:
            with session(Permission.SEGMENTS_READ, workspace, as_json, write=False) as (c, who):
                build = service.detail(c, who.workspace_id, key)["build"]
            progress.update(task, completed=build["done"], total=build["total"] or 1)
            if build["status"] != "pending":
                return build
            time.sleep(0.5)


@app.command("list")
def listed(workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False) -> None:
    """The segments with their member counts and build status."""
    from nerve.segments import service

    with session(Permission.SEGMENTS_READ, workspace, as_json, write=False) as (conn, who):
        found = service.listed(conn, who.workspace_id)
    lines = "\n".join(f"{s['key']}: {s['members']} members ({s['status']}, v{s['version']})"
                      for s in found) or "no segments"  # fmt: skip
    emit(as_json, {"segments": found}, lines)
