"""What every command prints: its result (human, or one JSON object on stdout) and its errors
(human on stderr, or that one JSON object)."""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Sequence
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from nerve.errors import InvalidInput, NerveError
from nerve.workspaces import service as workspace_service

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
WorkspaceOption = Annotated[str, typer.Option(help="Workspace name.")]
DEFAULT_WORKSPACE = workspace_service.DEFAULT_WORKSPACE

# Wide enough that no line is ever folded; Rich folds at 80 columns when not on a terminal.
_UNWRAPPED_WIDTH = 100_000


def _console(*, stderr: bool) -> Console:
    """A terminal gets Rich's wrapping at its width. Anything else (a pipe, a file, a test
    capturing the output) gets each line whole, so a key or a message can be copied or grepped;
    Rich would otherwise fold it at 80 columns."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr, emoji=False, highlight=False)
    return Console(
        stderr=stderr, emoji=False, highlight=False, soft_wrap=True, width=_UNWRAPPED_WIDTH
    )


console = _console(stderr=False)
err_console = _console(stderr=True)


def echo_json(data: dict[str, Any]) -> None:
    typer.echo(json.dumps(data, default=str))


def emit(as_json: bool, data: dict[str, Any], human: str) -> None:
    """`human` is Rich markup: escape what came from a user (`rich.markup.escape`)."""
    if as_json:
        echo_json(data)
    else:
        console.print(human)


def fail(error: NerveError, as_json: bool = False) -> NoReturn:
    if as_json:  # `--json` output is one JSON object, errors in the API's shape
        echo_json({"error": error.as_dict()})
        raise typer.Exit(code=1)
    err_console.print(f"[red]error[/red] {error.code}: {escape(error.message)}")
    details = error.details
    if isinstance(details, list) and all(
        isinstance(d, dict) and {"path", "reason"} <= set(d) for d in details
    ):  # problems with their places: one line each, as `flows validate` shows them
        for problem in details:
            err_console.print(f"  {problem['path']}: {problem['reason']}", markup=False)
    elif details is not None:
        err_console.print(details, markup=False)
    raise typer.Exit(code=1)


class JsonErrorsGroup(TyperGroup):
    """The root command. With `--json` anywhere on the command line, the errors that never
    reach a command (a missing argument, an unknown option) and unexpected ones (a bug) also
    end as one `{"error": ...}` object on stdout, so a script can always parse the output."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if "--json" not in argv or not standalone_mode:
            return super().main(argv, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(argv, prog_name, complete_var, False, **extra)
        except typer.TyperException as exc:  # Click's usage errors: missing argument, bad option
            _json_error(InvalidInput(exc.format_message()), exc.exit_code)
        except typer.Abort:
            _json_error(NerveError("aborted"), 1)
        except Exception as exc:  # a bug: its traceback on stderr, stdout stays parseable
            traceback.print_exc()
            _json_error(NerveError(f"{type(exc).__name__}: {exc}"), 1)
        sys.exit(code if isinstance(code, int) else 0)


def _json_error(error: NerveError, exit_code: int) -> NoReturn:
    echo_json({"error": error.as_dict()})
    sys.exit(exit_code)
