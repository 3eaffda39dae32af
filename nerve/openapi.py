"""The OpenAPI document at /openapi.json: FastAPI's description of the admin routes, made to
say what the server really answers — the error responses of each operation in the one `Error`
schema, and no 422 (invalid input is a 400 in that schema) — plus the tracking endpoints,
plain Starlette routes that FastAPI does not describe."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from nerve.errors import error_schema, response_document
from nerve.tracking.schemas import WRITE_KEY_SCHEME, openapi_paths

# FastAPI's own schemas for its 422 answer, which this server never gives.
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def install(app: FastAPI) -> None:
    """Serve the document built here, once, at `app.openapi_url`."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def build(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    for item in document["paths"].values():
        for operation in item.values():
            _document_errors(operation)
    tracking_paths, tracking_schemas = openapi_paths()
    clashes = set(tracking_schemas) & set(schemas)
    if clashes:
        raise RuntimeError(f"schema names used twice in the OpenAPI document: {clashes}")
    document["paths"] = tracking_paths | document["paths"]
    schemas.update(tracking_schemas)
    schemas["Error"] = error_schema()
    components.setdefault("securitySchemes", {})["WriteKey"] = WRITE_KEY_SCHEME
    return document


def _document_errors(operation: dict[str, Any]) -> None:
    """The errors an admin operation can give by its kind: 400 when it takes input, 401 and
    403 when it needs a key, 404 when it names a resource in its path. A route declares
    others it raises (409, 503 ...) with `errors.documented`."""
    responses: dict[str, Any] = operation["responses"]
    responses.pop("422", None)
    where = {parameter["in"] for parameter in operation.get("parameters", [])}
    statuses = []
    if "query" in where or "requestBody" in operation:
        statuses.append(400)
    if operation.get("security"):
        statuses += [401, 403]
    if "path" in where:
        statuses.append(404)
    for status in statuses:
        responses.setdefault(str(status), response_document(status))
    operation["responses"] = dict(sorted(responses.items()))
