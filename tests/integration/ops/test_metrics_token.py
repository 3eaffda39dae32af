"""`/metrics` is open by default, and answers only the bearer of NERVE_METRICS_TOKEN when set."""

from __future__ import annotations

from starlette.testclient import TestClient

from nerve.app import create_app
from nerve.settings import Settings

TOKEN = "scrape-7f3a9c"


def test_metrics_are_open_without_a_token(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200 and "nerve_" in response.text


def test_metrics_need_the_token_when_one_is_set(settings: Settings) -> None:
    guarded = Settings(
        database_url=settings.database_url,
        auto_migrate=False,
        metrics_token=TOKEN,
        _env_file=None,  # type: ignore[call-arg]
    )
    with TestClient(create_app(guarded)) as client:
        for headers in [
            {},
            {"Authorization": f"Bearer {TOKEN[:-1]}"},
            {"Authorization": f"Bearer {TOKEN}x"},
            {"Authorization": f"Basic {TOKEN}"},
            {"Authorization": "Bearer"},
        ]:
            response = client.get("/metrics", headers=headers)
            assert response.status_code == 401, headers
            error = response.json()["error"]
            assert error["code"] == "unauthorized" and "Bearer" in error["message"]
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200 and "nerve_flow_tasks_due" in response.text
        assert client.get("/healthz").status_code == 200  # health checks need no token
