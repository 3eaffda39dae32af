"""The seams hold: import-linter's contracts (pyproject.toml) — identity imports none of the
pipeline's consumers, and no capability imports another's tables."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_import_contracts_are_kept() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_capability_is_bound_by_the_table_contract() -> None:
    """A new capability gets a contract too, and its tables are forbidden to the others."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"
    ]
    bound = {
        c["source_modules"][0].removeprefix("nerve."): set(c["forbidden_modules"])
        for c in contracts
        if c["name"].endswith("imports no other capability's tables")
    }
    packages = sorted(
        p.parent.name
        for p in (ROOT / "nerve").glob("*/__init__.py")
        # Storage, the HTTP server and the CLI are infrastructure that composes the capabilities.
        if p.parent.name not in ("db", "cli", "server")
    )
    tables = {name: _table_modules(name) for name in packages}
    assert set(bound) >= set(packages) - {"outbound"}, set(packages) - set(bound)
    for name, forbidden in bound.items():
        assert forbidden == {m for other in packages if other != name for m in tables[other]}


def _table_modules(package: str) -> set[str]:
    """A capability's modules that define tables: `models.py` anywhere in it (push/models.py),
    and `*_models.py` (flows/digest_models.py)."""
    root = ROOT / "nerve" / package
    found = [*root.rglob("models.py"), *root.rglob("*_models.py")]
    return {".".join(("nerve", *p.relative_to(ROOT / "nerve").with_suffix("").parts))
            for p in found}  # fmt: skip
