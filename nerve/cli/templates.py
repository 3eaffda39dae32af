"""`nerve templates`: check, save and preview message templates (YAML or JSON files)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from nerve.auth.roles import Permission
from nerve.cli.output import DEFAULT_WORKSPACE, JsonFlag, WorkspaceOption, console, emit, fail
from nerve.cli.session import session
from nerve.errors import InvalidInput, InvalidTemplate, NotFound

app = typer.Typer(help="Message templates: validate, apply, preview.", no_args_is_help=True)
FileArgument = Annotated[
    Path,
    typer.Argument(
        help="A template in YAML or JSON: name, subject, preheader, html (or html_file: a path "
        "beside it; or mjml / mjml_file for an MJML layout), text (or text_file; derived from "
        "the HTML when absent)."
    ),
]


def _read(path: Path, as_json: bool) -> dict[str, Any]:
    from nerve.channels import templates

    try:
        data = yaml.safe_load(path.read_text())
        if not isinstance(data, dict):
            raise InvalidTemplate([{"path": "(file)", "reason": "not a mapping of fields"}])
        for part in ("html", "mjml", "text"):
            included = data.pop(f"{part}_file", None)
            if included is not None:
                data[part] = (path.parent / str(included)).read_text()
        return templates.check(data).model_dump()
    except OSError as exc:
        fail(InvalidInput(f"cannot read {exc.filename}: {exc.strerror}"), as_json)
    except yaml.YAMLError as exc:
        fail(InvalidTemplate([{"path": "(file)", "reason": f"not YAML/JSON: {exc}"}]), as_json)
    except InvalidTemplate as exc:
        fail(exc, as_json)


@app.command("validate")
def validate(file: FileArgument, as_json: JsonFlag = False) -> None:
    """Check a template as a save would: syntax, names, a strict render for the sample person,
    CSS inlining."""
    from nerve.channels import templates

    data = _read(file, as_json)
    try:
        templates.compile_source(templates.TemplateSource.model_validate(data))
    except InvalidTemplate as exc:
        fail(exc, as_json)
    emit(as_json, {"valid": True, "name": data["name"]}, f"[green]valid[/green] {data['name']}")


@app.command("apply")
def apply(
    file: FileArgument, workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False
) -> None:
    """Save the template as a new version (unless it is unchanged)."""
    from nerve.channels import templates

    data = _read(file, as_json)
    with session(Permission.TEMPLATES_WRITE, workspace, as_json) as (conn, principal):
        saved = templates.save(conn, principal.workspace_id, data, actor=principal.key_id)
    result = {"name": saved.name, "version": saved.version, "version_id": saved.version_id,
              "unchanged": saved.unchanged}  # fmt: skip
    human = f"saved {saved.name} v{saved.version}"
    emit(as_json, result, f"unchanged: {saved.name} v{saved.version}" if saved.unchanged else human)


@app.command("preview")
def preview(
    name: Annotated[str, typer.Argument(help="The template's name")],
    profile: Annotated[str | None, typer.Option(help="Render for this profile id")] = None,
    version: Annotated[int | None, typer.Option(help="The latest when not given")] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """Render a saved version for a person (the sample person without --profile)."""
    from nerve.channels import templates
    from nerve.channels.sample import SAMPLE
    from nerve.profiles.view import person_of_profile

    with session(Permission.TEMPLATES_READ, workspace, as_json, write=False) as (conn, principal):
        found = templates.version(conn, principal.workspace_id, name, version)
        context = dict(SAMPLE)
        if profile is not None:
            person = person_of_profile(conn, principal.workspace_id, profile)
            if person is None:
                fail(NotFound(f"no profile {profile!r}"), as_json)
            context["person"] = templates.person_context(person)
        rendered = templates.render(found.compiled, context)
    if as_json:
        emit(True, {"version": found.version, **rendered}, "")
        return
    console.print(f"[bold]{name} v{found.version}[/bold]")
    console.print(f"Subject: {rendered['subject']}", markup=False)
    console.print(f"Preheader: {rendered['preheader']}", markup=False)
    console.print()
    console.print(rendered["text"], markup=False)
