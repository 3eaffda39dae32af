"""PostgreSQL server conditions for the identity benchmark: its settings, and a stand-in for
autovacuum when the server runs without it.

Without autovacuum nothing ever runs ANALYZE, so the planner keeps the estimates of the empty
tables the migrations made: it then scans every identifier of a type for each lookup and hash-joins
whole tables to load clusters. A production server has autovacuum on, so by default the
benchmark runs `VACUUM (ANALYZE)` on its own database every minute in a background thread,
as autovacuum would (concurrently, taking CPU like it), and says so in the results.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg

_SETTINGS = ("autovacuum", "shared_buffers", "synchronous_commit", "server_version")


def server_settings(url: str) -> dict[str, str]:
    found = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for name in _SETTINGS:
            row = conn.execute(f"SHOW {name}").fetchone()
            found[name] = str(row[0]) if row else ""
    return found


class AutovacuumStandIn:
    """`VACUUM (ANALYZE)` every `every` seconds until `stop`, if the server's autovacuum is off."""

    def __init__(self, url: str, every: float) -> None:
        self.url = url
        self.every = every
        self.runs = 0
        self.seconds = 0.0
        self.active = every > 0 and server_settings(url)["autovacuum"] == "off"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="autovacuum-stand-in", daemon=True)
        if self.active:
            self._thread.start()

    def _run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.wait(self.every):
                started = time.perf_counter()
                conn.execute("VACUUM (ANALYZE)")
                self.seconds += time.perf_counter() - started
                self.runs += 1

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        if self.active:
            self._thread.join()
        return {
            "active": self.active,
            "every_seconds": self.every,
            "runs": self.runs,
            "seconds": round(self.seconds, 1),
        }
