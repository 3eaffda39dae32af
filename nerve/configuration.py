"""The configuration reference (docs/configuration.md): every NERVE_* setting with its default
and meaning, generated from the settings classes so it cannot drift from them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from nerve.demo.service import DemoSettings
from nerve.settings import ENV_PREFIX, Settings

_INTRODUCTION = f"""# Configuration

<!-- Generated from the settings classes by `nerve config reference > docs/configuration.md`;
do not edit by hand. -->

Nerve reads `{ENV_PREFIX}*` environment variables, and a `.env` file in the working directory;
the environment wins. Names are case-insensitive.
"""

_DEMO = """## The demo

Only `nerve demo` reads these. The demo always keeps its data in `nerve-demo.db` in the working
directory, whatever `NERVE_DATABASE_URL` says, sends its mail to an SMTP server of its own
(listed at `/demo/mails`), whatever `NERVE_SMTP_URL` says, and its SMS and app pushes to a
Twilio- and FCM-shaped server of its own (listed at `/demo/phones`), whatever the `NERVE_SMS_*`
and `NERVE_PUSH_FCM_*` settings say. Its secrets are encrypted with `NERVE_SECRET_KEY`, or when
that is unset with a key it makes on its first run and keeps in `nerve-demo.key` beside the
database.
"""


def configuration_reference() -> str:
    """Markdown: every setting with its variable, default and meaning (docs/configuration.md)."""
    sections = [_INTRODUCTION, *_table(Settings), "", _DEMO, *_table(DemoSettings)]
    return "\n".join(sections) + "\n"


def _table(settings: type[BaseSettings]) -> list[str]:
    prefix = settings.model_config.get("env_prefix", "")
    lines = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for name, field in settings.model_fields.items():
        meaning = (field.description or "").replace("|", "\\|")
        lines.append(
            f"| `{prefix}{name.upper()}` | {_default(field)} | {meaning}{_choices(field)} |"
        )
    return lines


def _default(field: FieldInfo) -> str:
    value: Any = field.default
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value is None or value == "" or value == []:
        return "(unset)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _choices(field: FieldInfo) -> str:
    annotation = field.annotation
    if getattr(annotation, "__origin__", None) is Literal:
        return " One of " + ", ".join(f"`{choice}`" for choice in annotation.__args__) + "."  # type: ignore[union-attr]
    return ""
