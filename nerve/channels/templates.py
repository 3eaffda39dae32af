"""Message templates: each save a new immutable version, checked before it is kept, compiled
once (CSS inlined, plain text derived), rendered for a person at send or preview time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import css_inline
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import Connection, func, insert, select

from nerve.audit import service as audit
from nerve.channels import channel_templates, liquid
from nerve.channels.html_text import html_to_text
from nerve.channels.models import Template, TemplateVersion
from nerve.channels.sample import SAMPLE
from nerve.db.base import new_id
from nerve.errors import InvalidTemplate, NotFound
from nerve.profiles.schemas import Person

NAME = r"^[a-z0-9][a-z0-9_-]{0,99}$"
PARTS = ("subject", "preheader", "html", "text")
SOURCE_PARTS = ("subject", "preheader", "html", "mjml", "text")
# A save never fetches anything: a <link rel="stylesheet"> (MJML's web font, say) stays in the
# mail for the reader's client to load, never loaded by the server (no request to a URL a
# template names).
_INLINER = css_inline.CSSInliner(
    keep_style_tags=False, keep_at_rules=True, load_remote_stylesheets=False, keep_link_tags=True
)


class TemplateSource(BaseModel):
    """A template as a marketer writes it (YAML or JSON)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME, description="Flows name it: `with: {template: NAME}`")
    channel: Literal["email"] = "email"
    subject: str = Field(min_length=1, max_length=1000)
    preheader: str = Field(default="", max_length=1000, description="The inbox's preview line")
    html: str | None = Field(default=None, min_length=1, max_length=512 * 1024)
    mjml: str | None = Field(
        default=None, min_length=1, max_length=512 * 1024,
        description="Instead of `html`: an MJML source (<mjml>…</mjml>) for a responsive "
        "layout, compiled to HTML at save time",
    )  # fmt: skip
    text: str | None = Field(
        default=None, max_length=256 * 1024, description="Derived from the HTML when not given"
    )

    @model_validator(mode="after")
    def _one_layout(self) -> TemplateSource:
        if (self.html is None) == (self.mjml is None):
            raise ValueError("give the layout as `html` or as `mjml`, one of them")
        return self


@dataclass(frozen=True)
class SavedVersion:
    template_id: str
    name: str
    version: int
    version_id: str
    created_at: datetime
    unchanged: bool


Source = TemplateSource | channel_templates.ChannelTemplate


def check(data: Any) -> Source:
    """The template, or InvalidTemplate with every problem and where it is. `channel` says
    which kind: email (the default), sms, push or slack."""
    channel = data.get("channel", "email") if isinstance(data, dict) else "email"
    model = channel_templates.MODELS.get(channel) if isinstance(channel, str) else None
    if model is None and channel != "email":
        reason = f"unknown channel {channel!r}; email, sms, push or slack"
        raise InvalidTemplate([{"path": "channel", "reason": reason}])
    try:
        source = (model or TemplateSource).model_validate(data)
    except ValidationError as exc:
        raise InvalidTemplate(
            [{"path": ".".join(str(p) for p in e["loc"]) or "(template)", "reason": e["msg"]}
             for e in exc.errors(include_url=False)]
        ) from None  # fmt: skip
    if not isinstance(source, TemplateSource):
        found = channel_templates.problems(source)
        if found:
            raise InvalidTemplate(found)
        return source
    found = [
        problem
        for part in SOURCE_PARTS
        if getattr(source, part)
        for problem in liquid.problems(part, getattr(source, part), SAMPLE)
    ]
    if found:
        raise InvalidTemplate(found)
    return source


def compile_source(source: Source) -> dict[str, Any]:
    """What sends render: for a mail, the HTML (compiled from MJML when given so) with its CSS
    inlined (once, here), the text part; for the other channels, their parts as written."""
    if not isinstance(source, TemplateSource):
        return channel_templates.compile_source(source)
    html = _INLINER.inline(source.html if source.html is not None else _from_mjml(source.mjml))
    compiled = {
        "subject": source.subject,
        "preheader": source.preheader,
        "html": html,
        "text": source.text if source.text is not None else html_to_text(html),
    }
    found = [p for part in ("html", "text") for p in liquid.problems(part, compiled[part], SAMPLE)]
    if found:  # inlining rewrote the markup around a tag (double quotes inside an attribute?)
        raise InvalidTemplate(
            [{**p, "reason": f"after inlining CSS: {p['reason']}"} for p in found]
        )
    return compiled


def _from_mjml(source: str | None) -> str:
    """MJML's responsive layout as HTML (the `mjml` package: pure Python, no Node)."""
    from mjml import mjml_to_html  # type: ignore[import-untyped]  # when a save needs it

    assert source is not None
    if not source.lstrip().startswith("<mjml"):
        raise InvalidTemplate([{"path": "mjml", "reason": "an MJML source starts with <mjml>"}])
    try:
        result = mjml_to_html(source)
    except Exception as exc:  # the compiler raises what its parser met: name it, say where
        reason = f"unknown element {exc.args[0]!r}" if isinstance(exc, KeyError) else str(exc)
        raise InvalidTemplate([{"path": "mjml", "reason": f"not valid MJML: {reason}"}]) from None
    if result.errors:
        raise InvalidTemplate([{"path": "mjml", "reason": str(e)} for e in result.errors])
    html: str = result.html
    found = liquid.problems("mjml", html, SAMPLE)
    if found:  # MJML moved a Liquid tag that stood between its elements
        raise InvalidTemplate(
            [{**p, "reason": f"after compiling MJML: {p['reason']}"} for p in found]
        )
    return html


def save(conn: Connection, workspace_id: str, data: Any, actor: str) -> SavedVersion:
    """Check and keep a new version; an unchanged template keeps its latest version."""
    source = check(data)
    compiled = compile_source(source)
    template = conn.execute(
        select(Template.id, Template.created_at).where(
            Template.workspace_id == workspace_id, Template.name == source.name
        )
    ).first()
    if template is None:
        template_id = new_id("tpl")
        conn.execute(
            insert(Template).values(
                id=template_id, workspace_id=workspace_id, name=source.name, channel=source.channel
            )
        )
    else:
        template_id = template.id
        latest = _latest(conn, template_id)
        if latest is not None and latest.source == source.model_dump():
            return SavedVersion(template_id, source.name, latest.version, latest.id,
                                latest.created_at, unchanged=True)  # fmt: skip
    number = (
        conn.scalar(
            select(func.max(TemplateVersion.version)).where(
                TemplateVersion.template_id == template_id
            )
        )
        or 0
    ) + 1
    version_id = new_id("tpv")
    conn.execute(
        insert(TemplateVersion).values(
            id=version_id, template_id=template_id, workspace_id=workspace_id, version=number,
            source=source.model_dump(), compiled=compiled, created_by=actor[:64],
        )
    )  # fmt: skip
    audit.record(conn, workspace_id, actor, "template.saved", version_id)
    saved = _version(conn, workspace_id, source.name, number)
    return SavedVersion(template_id, source.name, number, version_id, saved.created_at, False)


def listed(conn: Connection, workspace_id: str) -> list[dict[str, Any]]:
    latest = (
        select(TemplateVersion.template_id, func.max(TemplateVersion.version).label("version"))
        .group_by(TemplateVersion.template_id)
        .subquery()
    )
    rows = conn.execute(
        select(Template.id, Template.name, Template.channel, Template.created_at, latest.c.version)
        .join(latest, latest.c.template_id == Template.id)
        .where(Template.workspace_id == workspace_id)
        .order_by(Template.name)
    )
    return [dict(row._mapping) for row in rows]


def exists(conn: Connection, workspace_id: str, name: str) -> bool:
    return channel_of(conn, workspace_id, name) is not None


def channel_of(conn: Connection, workspace_id: str, name: str) -> str | None:
    """The channel of the named template; None when there is no such template."""
    return conn.scalar(
        select(Template.channel).where(Template.workspace_id == workspace_id, Template.name == name)
    )


def reference_problem(conn: Connection, workspace_id: str, name: str, channel: str) -> str | None:
    """Why a send on `channel` cannot use the template `name` (None: it can)."""
    found = channel_of(conn, workspace_id, name)
    if found is None:
        return f"no template named {name!r}: save it first (nerve templates apply)"
    if found != channel:
        return f"{name!r} is a {found} template; this step sends {channel}"
    return None


def version(conn: Connection, workspace_id: str, name: str, number: int | None = None) -> Any:
    """A version of the named template (the latest when `number` is None); NotFound else."""
    in_range = number is None or 1 <= number < 2**31
    found = _version(conn, workspace_id, name, number) if in_range else None
    if found is None:
        which = f"version {number} of " if number is not None else ""
        raise NotFound(f"no {which}template named {name!r}")
    return found


def versions(conn: Connection, workspace_id: str, name: str) -> list[Any]:
    version(conn, workspace_id, name)  # NotFound for an unknown name
    return list(
        conn.execute(
            select(
                TemplateVersion.version,
                TemplateVersion.id,
                TemplateVersion.created_by,
                TemplateVersion.created_at,
            )
            .join(Template, Template.id == TemplateVersion.template_id)
            .where(Template.workspace_id == workspace_id, Template.name == name)
            .order_by(TemplateVersion.version.desc())
        )
    )


def render(
    compiled: dict[str, Any], context: dict[str, Any], channel: str = "email"
) -> dict[str, Any]:
    """Every part of a compiled version for one recipient (lenient: a missing trait is empty)."""
    if channel != "email":
        return channel_templates.render(channel, compiled, context)
    parts = {part: liquid.render(liquid.parse(compiled[part]), context) for part in PARTS}
    for part in ("subject", "preheader"):  # one line each, as headers must be
        parts[part] = " ".join(parts[part].split())
    # Loops and conditions leave the lines their tags stood on.
    parts["text"] = re.sub(r"\n[ \t]*(?:\n[ \t]*){2,}", "\n\n", parts["text"]).strip() + "\n"
    return parts


def person_context(person: Person) -> dict[str, Any]:
    """The person as templates see them: the API's view plus the first email, phone, user id."""
    view = person.model_dump(mode="json")
    for kind in ("email", "phone", "user_id"):
        view[kind] = next((i.value for i in person.identifiers if i.type == kind), None)
    return view


def _latest(conn: Connection, template_id: str) -> Any:
    return conn.execute(
        select(TemplateVersion)
        .where(TemplateVersion.template_id == template_id)
        .order_by(TemplateVersion.version.desc())
        .limit(1)
    ).first()


def _version(conn: Connection, workspace_id: str, name: str, number: int | None) -> Any:
    query = (
        select(*TemplateVersion.__table__.columns, Template.channel)
        .join(Template, Template.id == TemplateVersion.template_id)
        .where(Template.workspace_id == workspace_id, Template.name == name)
    )
    if number is None:
        query = query.order_by(TemplateVersion.version.desc()).limit(1)
    else:
        query = query.where(TemplateVersion.version == number)
    return conn.execute(query).first()
