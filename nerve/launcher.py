"""The `nerve` command's entry point: what must happen before anything else is imported.

`nerve serve` runs several processes (its worker child; `--workers N` server processes on
PostgreSQL) and `/metrics` must count all of them: Prometheus' multiprocess mode, which reads
PROMETHEUS_MULTIPROC_DIR when prometheus_client is first imported. So the directory is chosen
here, before the CLI's imports: one per server, named after its process id. A server may end
by a signal that runs no clean-up, so each start removes the directories of servers that are no
longer running. An operator may set the variable instead (a tmpfs, say) and empty it between
runs.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

_METRICS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"
_PREFIX = "nerve-metrics-"


def main() -> None:
    if sys.argv[1:2] == ["serve"] and _METRICS_DIRECTORY not in os.environ:
        _remove_abandoned()
        os.environ[_METRICS_DIRECTORY] = tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-")
    from nerve.cli import app

    app()


def _remove_abandoned() -> None:
    for directory in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*-*"):
        pid = directory.name.removeprefix(_PREFIX).partition("-")[0]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(directory, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's
    return True
