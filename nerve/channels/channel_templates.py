"""Templates of the channels beside email: an SMS's text, a push's title and body, a Slack
message's text and Block Kit blocks. Liquid everywhere, checked at save time against the sample
person like a mail (nerve/channels/templates.py dispatches here on `channel`).

Slack blocks are a JSON structure whose strings are Liquid: each string is rendered on its own,
so a customer's name with a quote in it can never break the JSON Slack receives.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from nerve.channels import liquid
from nerve.channels.sample import SAMPLE

NAME = r"^[a-z0-9][a-z0-9_-]{0,99}$"
_MAX_BLOCKS_BYTES = 64 * 1024  # a Slack message takes at most 50 blocks; this is generous


class SmsTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME, description="Flows name it: `with: {template: NAME}`")
    channel: Literal["sms"]
    text: str = Field(
        min_length=1, max_length=1600,
        description="The message; more than 160 GSM-7 characters (70 with emoji or other "
        "Unicode) is sent as several segments",
    )  # fmt: skip


class PushTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME, description="Flows name it: `with: {template: NAME}`")
    channel: Literal["push"]
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=1000)
    url: str | None = Field(default=None, max_length=2000, description="Opened on a tap")
    icon: str | None = Field(default=None, max_length=2000)
    image: str | None = Field(default=None, max_length=2000)


class SlackTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME, description="Flows name it: `with: {template: NAME}`")
    channel: Literal["slack"]
    text: str = Field(
        min_length=1, max_length=4000, description="The notification text (and the fallback)"
    )
    blocks: list[dict[str, Any]] | None = Field(
        default=None, max_length=50, description="Block Kit blocks; their strings are Liquid"
    )


ChannelTemplate = SmsTemplate | PushTemplate | SlackTemplate
MODELS: dict[str, type[ChannelTemplate]] = {
    "sms": SmsTemplate,
    "push": PushTemplate,
    "slack": SlackTemplate,
}


def strings(value: Any, path: str) -> list[tuple[str, str]]:
    """Every string inside a JSON structure with its path (blocks[0].text.text)."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, list):
        return [found for i, item in enumerate(value) for found in strings(item, f"{path}[{i}]")]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in strings(item, f"{path}.{key}")]
    return []


def problems(source: ChannelTemplate) -> list[dict[str, str]]:
    """Liquid problems of every part, against the sample person."""
    found = []
    for path, text in _parts(source):
        found += liquid.problems(path, text, SAMPLE)
    blocks = source.blocks if isinstance(source, SlackTemplate) else None
    if blocks is not None and len(json.dumps(blocks)) > _MAX_BLOCKS_BYTES:
        found.append({"path": "blocks", "reason": "at most 64 KiB of blocks"})
    if isinstance(source, PushTemplate):
        for part in ("url", "icon", "image"):
            value = getattr(source, part)
            if value and "{" not in value:  # a literal URL: it must be one
                try:
                    HttpUrl(value)
                except ValueError:
                    found.append({"path": part, "reason": "not an http(s) URL"})
    return found


def compile_source(source: ChannelTemplate) -> dict[str, Any]:
    """What sends render: the parts as written (nothing to inline or derive)."""
    return source.model_dump(exclude={"name", "channel"}, exclude_none=True)


def render(channel: str, compiled: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Every part of a compiled version for one recipient (lenient: a missing trait is empty)."""
    rendered: dict[str, Any] = {}
    for part, value in compiled.items():
        if part == "blocks":
            rendered[part] = _render_structure(value, context)
        else:
            text = liquid.render(liquid.parse(value), context)
            one_line = part in ("title", "url", "icon", "image")
            rendered[part] = " ".join(text.split()) if one_line else text.strip()
    return rendered


def _render_structure(value: Any, context: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return liquid.render(liquid.parse(value), context)
    if isinstance(value, list):
        return [_render_structure(item, context) for item in value]
    if isinstance(value, dict):
        return {key: _render_structure(item, context) for key, item in value.items()}
    return value


def _parts(source: ChannelTemplate) -> list[tuple[str, str]]:
    data = source.model_dump(exclude={"name", "channel"}, exclude_none=True)
    return [found for part, value in data.items() for found in strings(value, part)]
