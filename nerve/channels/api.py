"""`/api/v1/templates`: save versions, read them, preview them for a person."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response

from nerve.admin_routes import AdminRoute
from nerve.auth.api import requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.channels import templates
from nerve.channels.sample import SAMPLE
from nerve.channels.schemas import (
    Preview,
    PreviewRequest,
    SavedTemplate,
    TemplateDetail,
    TemplateList,
)
from nerve.channels.templates import TemplateSource
from nerve.db.session import Db, WriteDb
from nerve.errors import InvalidInput, NotFound, documented
from nerve.profiles.view import person_of_profile

router = APIRouter(prefix="/api/v1/templates", tags=["templates"], route_class=AdminRoute)
Reader = Annotated[Principal, requires(Permission.TEMPLATES_READ)]
Writer = Annotated[Principal, requires(Permission.TEMPLATES_WRITE)]


@router.get("", response_model=TemplateList)
def list_templates(db: Db, key: Reader) -> dict[str, Any]:
    return {"data": templates.listed(db, key.workspace_id)}


@router.post(
    "",
    status_code=201,
    response_model=SavedTemplate,
    responses={
        200: {"description": "Unchanged: equal to the latest version", "model": SavedTemplate}
    },
)
def save_template(
    db: WriteDb, key: Writer, template: TemplateSource, response: Response
) -> SavedTemplate:
    """Check and save a new version (201): syntax, names, a strict render for the sample person
    (a variable it lacks needs a `default`), CSS inlined, text derived. Equal to the latest
    version: nothing saved, that version, `unchanged: true` (200)."""
    saved = templates.save(db, key.workspace_id, template.model_dump(), actor=key.key_id)
    if saved.unchanged:
        response.status_code = 200
    return SavedTemplate.model_validate(saved, from_attributes=True)


@router.get("/{template_name}", response_model=TemplateDetail, responses=documented(NotFound))
def get_template(db: Db, key: Reader, template_name: str) -> dict[str, Any]:
    """The latest version, what it compiled to, and every version."""
    return _detail(db, key.workspace_id, template_name, None)


@router.get(
    "/{template_name}/versions/{version}",
    response_model=TemplateDetail,
    responses=documented(NotFound),
)
def get_version(db: Db, key: Reader, template_name: str, version: str) -> dict[str, Any]:
    """One version (1, 2, ...) of the template."""
    if not (version.isascii() and version.isdigit()):
        raise NotFound(f"no version {version!r} of template {template_name!r}")
    return _detail(db, key.workspace_id, template_name, int(version))


@router.post(
    "/{template_name}/preview",
    response_model=Preview,
    responses=documented(NotFound, InvalidInput),
)
def preview(db: Db, key: Writer, template_name: str, request: PreviewRequest) -> dict[str, Any]:
    """A version rendered for a person (or the sample person), as a send would render it: for
    those who write templates."""
    found = templates.version(db, key.workspace_id, template_name, request.version)
    context = SAMPLE | request.context
    if request.profile_id is not None:
        person = person_of_profile(db, key.workspace_id, request.profile_id)
        if person is None:
            raise NotFound(f"no profile {request.profile_id!r}")
        context = context | {"person": templates.person_context(person)}
    return {"version": found.version, **templates.render(found.compiled, context)}


def _detail(db: Any, workspace_id: str, name: str, number: int | None) -> dict[str, Any]:
    version = templates.version(db, workspace_id, name, number)
    return {
        "name": name, "version": version.version, "version_id": version.id,
        "created_at": version.created_at, "source": version.source,
        "compiled": version.compiled,
        "versions": [dict(v._mapping) for v in templates.versions(db, workspace_id, name)],
    }  # fmt: skip
