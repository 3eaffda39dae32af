"""`nerve policy`: the workspace's delivery policy — fatigue cap, quiet hours, best-send-time
fallback (docs/delivery-policy.md) — shown, or replaced from a YAML or JSON file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from nerve.auth.roles import Permission
from nerve.cli.output import DEFAULT_WORKSPACE, JsonFlag, WorkspaceOption, emit, fail
from nerve.cli.session import session
from nerve.errors import InvalidInput

app = typer.Typer(help="The delivery policy: fatigue cap, quiet hours.", no_args_is_help=True)
FileArgument = Annotated[
    Path,
    typer.Argument(help="The policy in YAML or JSON: fatigue, quiet_hours, send_time."),
]


def _read(path: Path, as_json: bool) -> Any:
    from pydantic import ValidationError

    from nerve.channels.timing.policy import DeliveryPolicy

    try:
        return DeliveryPolicy.model_validate(yaml.safe_load(path.read_text()) or {})
    except OSError as exc:
        fail(InvalidInput(f"cannot read {exc.filename}: {exc.strerror}"), as_json)
    except yaml.YAMLError as exc:
        fail(InvalidInput(f"not YAML/JSON: {exc}"), as_json)
    except ValidationError as exc:
        problems = [{"path": ".".join(map(str, e["loc"])) or "(file)", "reason": e["msg"]}
                    for e in exc.errors()]  # fmt: skip
        fail(InvalidInput("the policy is not valid", details=problems), as_json)


def _human(document: dict[str, Any]) -> str:
    from rich.markup import escape

    return escape(yaml.safe_dump(document, sort_keys=False).rstrip())


@app.command("show")
def show(workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False) -> None:
    """The policy marketing sends are decided by (the defaults until one is set)."""
    from nerve.channels.timing import policy

    with session(Permission.DELIVERY_POLICY_READ, workspace, as_json, write=False) as (conn, who):
        document = policy.load(conn, who.workspace_id, fresh=True).model_dump(mode="json")
    emit(as_json, document, _human(document))


@app.command("set")
def set_policy(
    file: FileArgument, workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonFlag = False
) -> None:
    """Replace the policy with the file's (audited); sends decided from then on follow it."""
    from nerve.channels.timing import policy

    document = _read(file, as_json)
    with session(Permission.DELIVERY_POLICY_WRITE, workspace, as_json) as (conn, who):
        saved = policy.save(conn, who.workspace_id, document, actor=who.key_id)
    shown = saved.model_dump(mode="json")
    emit(as_json, shown, f"delivery policy saved\n{_human(shown)}")
