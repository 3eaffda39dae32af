"""The OpenAPI document says what the server answers: every body typed with named fields,
the errors each operation gives in one Error schema (no FastAPI 422), and the tracking
endpoints with their Segment messages and write key."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from nerve.app import create_app
from nerve.errors import codes
from nerve.settings import Settings

TRACKING_PATHS = [
    *("identify", "track", "page", "screen", "group", "alias", "batch", "import"),
    *("i", "t", "p", "s", "g", "a", "b"),
]


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # The document is built from the routes alone: no database needed, no lifespan run.
    database = tmp_path_factory.mktemp("db") / "unused.db"
    app = create_app(Settings(database_url=f"sqlite:///{database}", _env_file=None))  # type: ignore[call-arg]
    response = TestClient(app).get("/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    return document["components"]["schemas"][ref.rsplit("/", 1)[1]]  # type: ignore[no-any-return]


def test_every_success_body_is_a_named_schema_with_named_fields(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        # Publishing a flow: 201 a new version, 200 unchanged — both the same named schema.
        successes = [(s, r) for s, r in operation["responses"].items() if s < "304"]
        assert successes, (method, path)
        for status, success in successes:
            if status in ("204", "302", "303"):  # a tracked link's, a cart resume link's redirect
                assert "content" not in success, (method, path)
                continue
            for media_type, content in success["content"].items():
                # /metrics; the pages people see; the open pixel; CSV exports; TwiML
                if media_type.startswith(
                    ("text/plain", "text/html", "image/", "text/csv", "text/xml")
                ):
                    continue
                assert "$ref" in content["schema"], (method, path, status)
                schema = _resolve(document, content["schema"])
                assert schema["type"] == "object" and schema["properties"], (method, path)


def test_every_error_is_the_one_error_schema_and_there_is_no_422(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    error = schemas["Error"]
    assert error["required"] == ["error"]
    assert set(error["properties"]["error"]["properties"]) == {"code", "message", "details"}
    assert set(error["properties"]["error"]["properties"]["code"]["enum"]) == set(codes())
    for method, path, operation in _operations(document):
        assert "422" not in operation["responses"], (method, path)
        for status, response in operation["responses"].items():
            if status >= "400":
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_admin_operations_list_the_errors_they_can_give(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        if not path.startswith("/api/") or operation.get("x-nerve-access") == "public":
            continue
        statuses = set(operation["responses"])
        assert {"401", "403"} <= statuses, (method, path)
        takes_input = "requestBody" in operation or any(
            p["in"] == "query" for p in operation.get("parameters", [])
        )
        assert ("400" in statuses) == takes_input, (method, path)
        assert ("408" in statuses) == ("requestBody" in operation), (method, path)
        if "{" in path:
            assert "404" in statuses, (method, path)
    responses = {(m, p): set(o["responses"]) for m, p, o in _operations(document)}
    assert "409" in responses[("POST", "/api/v1/dead-letters/{dead_letter_id}/replay")]
    assert "409" in responses[("POST", "/api/v1/profiles/{profile_id}/unmerge")]
    assert "404" in responses[("GET", "/api/v1/profiles")]  # lookup by identifier


def test_the_tracking_endpoints_are_described_with_segment_messages_and_the_write_key(
    document: dict[str, Any],
) -> None:
    assert document["components"]["securitySchemes"]["WriteKey"]["scheme"] == "basic"
    for path in TRACKING_PATHS:
        operation = document["paths"][f"/v1/{path}"]["post"]
        assert {"WriteKey": []} in operation["security"]
        assert {"200", "400", "401", "408", "413"} <= set(operation["responses"])
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        schema = _resolve(document, body)
        fields = set(schema["properties"])
        assert {"userId", "anonymousId", "messageId", "timestamp", "context"} <= fields or (
            "batch" in fields
        ), path
    track = _resolve(document, {"$ref": "#/components/schemas/TrackCall"})
    assert "event" in track["required"] and "properties" in track["properties"]
    alias = _resolve(document, {"$ref": "#/components/schemas/AliasCall"})
    assert alias["required"] == ["previousId"]
    batch = _resolve(document, {"$ref": "#/components/schemas/BatchRequest"})
    assert len(batch["properties"]["batch"]["items"]["oneOf"]) == 6
    result = _resolve(document, {"$ref": "#/components/schemas/BatchResult"})
    assert {"success", "accepted", "rejected"} <= set(result["properties"])


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_everything_from_this_server(tmp_path: Path, page: str) -> None:
    """Nothing from a CDN: the page works on a network without internet."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/unused.db", _env_file=None))  # type: ignore[call-arg]
    client = TestClient(app)
    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    assert "/openapi.json" in html
    external = re.findall(r"""(?:src|href|url)\s*[=:(]\s*['"]?(https?://[^'")\s>]+)""", html)
    assert external == []
    assets = re.findall(r"""['"](/docs/assets/[^'"]+)['"]""", html)
    assert len(assets) >= 2, html
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 500, asset
    if page == "/docs":
        assert '"validatorUrl": null' in html  # no badge from validator.swagger.io
        script = client.get("/docs/assets/swagger-ui-bundle.js")
        assert "javascript" in script.headers["content-type"]
        assert b"SwaggerUIBundle" in script.content
