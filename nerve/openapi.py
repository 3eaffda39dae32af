"""The OpenAPI document at /openapi.json and the pages that show it, /docs and /redoc.

The document is FastAPI's description of the admin routes, made to say what the server really
answers — the error responses of each operation in the one `Error` schema, and no 422 (invalid
input is a 400 in that schema) — plus the tracking endpoints, plain Starlette routes that
FastAPI does not describe. The pages load Swagger UI and ReDoc from this server: a shop's
network may not reach a CDN, and an API console that stays blank helps nobody.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.openapi.utils import get_openapi
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from nerve.errors import error_schema, response_document
from nerve.tracking.schemas import WRITE_KEY_SCHEME, openapi_paths

# FastAPI's own schemas for its 422 answer, which this server never gives.
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
# Swagger UI 5 and ReDoc 2 as released, shipped in the fastapi-offline wheel (MIT): the files
# only, its FastAPI wrapper is not used.
ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs/assets"


def install(app: FastAPI) -> None:
    """Serve the document built here, once, at /openapi.json, and the pages at /docs and
    /redoc (create the app with `docs_url=None, redoc_url=None`: FastAPI's pages use a CDN)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")
    app.add_api_route("/docs", _swagger_ui, include_in_schema=False)
    app.add_api_route("/docs/oauth2-redirect", _oauth2_redirect, include_in_schema=False)
    app.add_api_route("/redoc", _redoc, include_in_schema=False)


async def _swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=f"{root}/openapi.json",
        title=f"{request.app.title} API",
        swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
        oauth2_redirect_url=f"{root}/docs/oauth2-redirect",
        # Swagger UI would otherwise show a badge image fetched from validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
    )


async def _oauth2_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


async def _redoc(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_redoc_html(
        openapi_url=f"{root}/openapi.json",
        title=f"{request.app.title} API",
        redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
        with_google_fonts=False,
    )


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
    403 when it needs a key, 404 when it names a resource in its path, 408 when it takes a
    body (which must arrive in time, nerve/server/protocol.py). A route declares others it
    raises (409, 503 ...) with `errors.documented`."""
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
    if "requestBody" in operation:
        statuses.append(408)
    for status in statuses:
        responses.setdefault(str(status), response_document(status))
    operation["responses"] = dict(sorted(responses.items()))
