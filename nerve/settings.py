"""Configuration from `NERVE_*` environment variables and `.env`; the environment wins."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NERVE_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///nerve.db"
    # WAL + FULL survives power loss; NORMAL survives process crashes only (kill -9 is safe).
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL"] = "FULL"
    database_pool_size: int = 10
    auto_migrate: bool = True
    # Run background work (identity resolution, ...) inside `nerve serve`. Turn off when
    # separate `nerve worker` processes do it (PostgreSQL).
    embedded_worker: bool = True
    # A claimed flow task is given back to other workers if its worker has not finished it
    # within this many seconds (the worker died). Longer than the slowest action's timeout.
    flow_lease_seconds: int = Field(default=60, ge=1)
    # How often an idle flow worker looks for due timers. Default: 0.05 s on SQLite, 0.5 s on
    # PostgreSQL, where new due-now work also wakes every worker through LISTEN/NOTIFY.
    flow_poll_seconds: float | None = Field(default=None, gt=0)
    # Ended runs (with their step history) are deleted after this many days; trigger entries
    # stay, so a duplicate trigger still starts nothing.
    flow_run_retention_days: float = Field(default=90, gt=0)
    # Finished tasks of live runs (their steps keep the history).
    flow_task_retention_days: float = Field(default=1, gt=0)

    # The CLI acts with this secret key's role and workspace; unset, the CLI is the operator
    # (who can reach the database, and so is admin).
    api_key: SecretStr = SecretStr("")
    # When set, `GET /metrics` answers only `Authorization: Bearer <token>` (401 otherwise).
    metrics_token: SecretStr = SecretStr("")

    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""

    log_level: str = "info"
    log_format: Literal["console", "json"] = "console"

    # Segment's documented limits for its HTTP Tracking API.
    max_event_bytes: int = 32 * 1024
    max_request_bytes: int = 500 * 1024
    max_batch_events: int = 2500
    # Largest group commit: events from concurrent requests written in one transaction.
    max_commit_events: int = Field(default=20_000, ge=1)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
