"""Where the server's time goes: py-spy samples the server while wrk loads it.

py-spy is not a project dependency: `uv pip install --python .venv/bin/python py-spy`.
Sampling slows the server down, so the profiled run's throughput is not reported.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from tracking_load import Load, run_wrk

console = Console(width=None if sys.stdout.isatty() else 150)
_TOP = 20


def _py_spy() -> str:
    beside_python = Path(sys.executable).parent / "py-spy"
    found = str(beside_python) if beside_python.exists() else shutil.which("py-spy")
    if found is None:
        raise SystemExit("--profile needs py-spy: uv pip install --python .venv/bin/python py-spy")
    return found


def profile_server(
    pid: int, seconds: float, output: Path, subprocesses: bool, load: Load
) -> dict[str, Any]:
    command = [
        _py_spy(), "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
        "--rate", "200", "--format", "raw", "--output", str(output), "--threads", "--nolineno",
        "--nonblocking",
    ]  # fmt: skip
    if subprocesses:
        command.append("--subprocesses")
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.5)  # let py-spy attach before the load starts
    run_wrk(load, pid)
    _, errors = spy.communicate(timeout=seconds + 60)
    if spy.returncode != 0 or not output.exists():
        console.print(f"[red]py-spy failed:[/red] {errors.decode(errors='replace').strip()}")
        return {"error": errors.decode(errors="replace").strip()}
    summary = summarize(output.read_text())
    summary["raw_file"] = str(output)
    _print(summary)
    return summary


def summarize(raw: str) -> dict[str, Any]:
    """Self and inclusive sample shares per frame, and per thread, from py-spy's raw format.

    A raw line is `thread (0x..);frame;frame;... count`, outermost frame first.
    """
    by_thread: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if frames[0].startswith("process "):  # --subprocesses: one root per worker process
            frames = frames[1:]
        total += count
        by_thread[_thread_role(frames)] += count
        own[frames[-1]] += count
        for frame in set(frames[1:]):
            if "(nerve/" in frame:  # our own code: library frames are in the self-time table
                inclusive[frame] += count

    def shares(counter: Counter[str], top: int) -> list[dict[str, Any]]:
        return [
            {"frame": frame, "percent": round(100 * n / total, 1)}
            for frame, n in counter.most_common(top)
        ]

    return {
        "samples": total,
        "threads": shares(by_thread, 10),
        "self": shares(own, _TOP),
        "inclusive": shares(inclusive, _TOP),
    }


def _thread_role(frames: list[str]) -> str:
    """The sampled thread's name without its id, and what it was doing if we know it.

    asyncio's default executor threads (`asyncio_N`, `uvloop_N`) run whatever was handed to
    `asyncio.to_thread`, so they are named after our code found in their stacks.
    """
    name = frames[0].partition("): ")[2] or frames[0]
    stack = ";".join(frames)
    if "resolve_pending (nerve/identity/resolver.py)" in stack:
        return f"{name}: identity resolver"
    if name == "MainThread":
        return "MainThread: event loop"
    return name


def _print(summary: dict[str, Any]) -> None:
    console.print(f"  py-spy: {summary['samples']:,} samples (idle threads not sampled)")
    titles = {"threads": "thread", "self": "self time", "inclusive": "inclusive, nerve/ frames"}
    for key, title in titles.items():
        table = Table(title=f"py-spy: {title}", show_lines=False)
        table.add_column("%", justify="right")
        table.add_column("frame")
        for row in summary[key]:
            table.add_row(f"{row['percent']:.1f}", row["frame"])
        console.print(table)
