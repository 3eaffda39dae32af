"""`nerve templates` as a marketer's developer uses it: a YAML file with its HTML beside it is
validated, saved once (again: unchanged), previewed; a broken one is refused with where."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.acceptance.conftest import NerveProcess

pytestmark = pytest.mark.slow


def test_templates_from_files(nerve: NerveProcess, tmp_path: Path) -> None:
    (tmp_path / "reminder.html").write_text(
        "<style>p { color: #333 }</style><p>Hi {{ person.traits.first_name | default: 'you' }}"
        "</p>{% for p in cart.products %}<a href='{{ p.url }}'>{{ p.name }}</a>{% endfor %}"
    )
    (tmp_path / "reminder.yaml").write_text(
        'name: reminder\nsubject: "{{ cart.products[0].name }} is waiting"\n'
        "html_file: reminder.html\n"
    )
    file = str(tmp_path / "reminder.yaml")
    assert nerve.cli("templates", "validate", file) == {"valid": True, "name": "reminder"}
    assert nerve.cli("templates", "apply", file)["version"] == 1
    assert nerve.cli("templates", "apply", file)["unchanged"] is True
    shown = nerve.cli("templates", "preview", "reminder")
    assert shown["subject"] == "Trail Runner 2 is waiting"
    assert 'style="color: #333;"' in shown["html"]
    assert "Trail Runner 2 (https://shop.example/p/run-42)" in shown["text"]

    (tmp_path / "broken.yaml").write_text('name: broken\nsubject: "{{ nobody }}"\nhtml: x\n')
    error = nerve.cli_error("templates", "validate", str(tmp_path / "broken.yaml"))
    assert error["code"] == "invalid_template"
    assert error["details"][0]["path"] == "subject:1:4"
