"""`nerve config reference` prints docs/configuration.md as it stands in the repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.acceptance.conftest import NERVE

pytestmark = pytest.mark.slow

DOCS = Path(__file__).parents[2] / "docs" / "configuration.md"


def test_the_configuration_reference_is_what_docs_configuration_md_says(tmp_path: Path) -> None:
    result = subprocess.run(
        [NERVE, "config", "reference"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == DOCS.read_text()
