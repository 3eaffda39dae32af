"""docs/configuration.md is the settings classes' own reference, kept current."""

from __future__ import annotations

from pathlib import Path

from nerve.configuration import configuration_reference
from nerve.demo.service import DemoSettings
from nerve.settings import Settings

DOCUMENT = Path(__file__).parents[2] / "docs" / "configuration.md"


def test_docs_configuration_md_is_current() -> None:
    assert DOCUMENT.read_text() == configuration_reference(), (
        "docs/configuration.md is out of date: run "
        "`.venv/bin/nerve config reference > docs/configuration.md`"
    )


def test_every_setting_is_documented_with_its_variable() -> None:
    reference = configuration_reference()
    for settings, prefix in [(Settings, "NERVE_"), (DemoSettings, "NERVE_DEMO_")]:
        for name, field in settings.model_fields.items():
            assert field.description, f"{name} has no description"
            assert f"| `{prefix}{name.upper()}` |" in reference


def test_defaults_are_shown_as_an_operator_writes_them() -> None:
    reference = configuration_reference()
    assert "| `NERVE_DATABASE_URL` | `sqlite:///nerve.db` |" in reference
    assert "| `NERVE_AUTO_MIGRATE` | `true` |" in reference
    assert "| `NERVE_METRICS_TOKEN` | (unset) |" in reference
    assert "One of `console`, `json`." in reference
