"""Configuration from `NERVE_*` environment variables and `.env`; the environment wins.

Each setting's description is its documentation: `nerve config reference` renders them all
into docs/configuration.md (a test keeps that file current).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from nerve.outbound.policy import allowed_entry

ENV_PREFIX = "NERVE_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///nerve.db",
        description="Where Nerve keeps everything. The default is a SQLite file in the working "
        "directory (one server process); `postgresql+psycopg://user@host/db` to scale out.",
    )
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL"] = Field(
        default="FULL",
        description="SQLite durability. WAL + `FULL` survives power loss; `NORMAL` survives "
        "process crashes only (kill -9 is safe).",
    )
    database_pool_size: int = Field(
        default=10, description="Database connections per process (and as many again in bursts)."
    )
    auto_migrate: bool = Field(
        default=True,
        description="Apply database migrations when a process starts (`nerve db upgrade` does "
        "it by hand).",
    )
    embedded_worker: bool = Field(
        default=True,
        description="Run background work (identity resolution, flows) inside `nerve serve`. "
        "Turn off when separate `nerve worker` processes do it (PostgreSQL).",
    )
    embedded_worker_process: bool = Field(
        default=True,
        description="`nerve serve` runs its embedded worker as a child process (restarted if it "
        "dies), so identity resolution and flows use a core of their own; `false` runs it on "
        "threads of the server process.",
    )
    flow_lease_seconds: int = Field(
        default=60,
        ge=1,
        description="A claimed flow task is given back to other workers if its worker has not "
        "finished it within this many seconds (the worker died). Longer than the slowest "
        "action's timeout.",
    )
    flow_poll_seconds: float | None = Field(
        default=None,
        gt=0,
        description="How often an idle flow worker looks for due timers. Unset: 0.05 s on "
        "SQLite, 0.5 s on PostgreSQL, where new due-now work also wakes every worker through "
        "LISTEN/NOTIFY.",
    )
    flow_run_retention_days: float = Field(
        default=90,
        gt=0,
        description="Ended flow runs (with their step history) are deleted after this many "
        "days; trigger entries stay, so a duplicate trigger still starts nothing.",
    )
    flow_task_retention_days: float = Field(
        default=1,
        gt=0,
        description="Finished tasks of live runs are deleted after this many days (their steps "
        "keep the history).",
    )
    flow_run_steps_per_hour: int = Field(
        default=200,
        ge=1,
        description="Steps (nodes reached) one run may take within an hour; a run beyond it "
        "goes to the dead-letter queue instead of looping on (a wait of a second, a flood of "
        "events). A replay gives the run a fresh budget.",
    )
    flow_run_steps_total: int = Field(
        default=5_000,
        ge=1,
        description="Steps one run may take in all before it goes to the dead-letter queue.",
    )
    flow_test_max_steps: int = Field(
        default=100_000,
        ge=1,
        description="Steps a time-travel test (`nerve flows test`, POST /api/v1/flows/test) "
        "takes over all its runs before it stops and answers with what it did so far.",
    )
    flow_test_max_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Wall-clock seconds a time-travel test may run before it stops and answers "
        "with what it did so far.",
    )
    broadcast_runs_per_second: int = Field(
        default=500,
        ge=1,
        description="Runs a broadcast starts per second at most, over all workers (a flow for "
        "every member of a segment): the receivers and the database get a steady stream, not "
        "100,000 runs at once.",
    )
    recommendations_retrain_minutes: float = Field(
        default=360,
        gt=0,
        description="Recommendations (bought together, also bought/viewed, the per-person model, "
        "bestsellers) are retrained by a worker this often; `POST /api/v1/recommendations/train` "
        "or `nerve recommendations train` retrains at once.",
    )

    outbound_allow: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Private addresses Nerve may call all the same (webhooks; later e-mail, SMS, "
        "push and Slack): networks such as `10.20.0.0/16`, `fd00:1::/64` or `127.0.0.1/32`, and "
        "host names such as `erp.shop.internal`, separated by commas. Unset, Nerve calls only "
        "public addresses: private (RFC 1918, fc00::/7), loopback, link-local (with the cloud "
        "metadata service, 169.254.169.254), multicast, shared (100.64.0.0/10) and reserved "
        "ones are refused. A host name listed here may resolve to any address: prefer networks.",
    )

    api_key: SecretStr = Field(
        default=SecretStr(""),
        description="The CLI acts with this secret key's role and workspace. Unset, the CLI is "
        "the operator (who can reach the database, and so is admin).",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(""),
        description="Encrypts the stored secrets (SMTP password, DKIM keys, provider tokens): a "
        "Fernet key from `nerve secrets new-key`. To rotate, put the new key first and keep the "
        "old one after a comma, run `nerve secrets rotate`, then drop the old one. Lost, the "
        "stored secrets are lost; unset, none can be stored.",
    )
    smtp_url: SecretStr = Field(
        default=SecretStr(""),
        description="Where email goes: `smtp://host:25` (STARTTLS when offered), "
        "`smtp+starttls://user:password@host:587`, `smtps://user:password@host:465`. With a "
        "user and no password (`smtps://user@host:465`) the password is the secret "
        "`smtp.password` of the default workspace (`nerve secrets set smtp.password`), kept "
        "encrypted. Unset, `send_email` steps wait in the dead-letter queue.",
    )
    email_from: str = Field(
        default="", description="The From of every email, such as `Shop <hello@shop.example>`."
    )
    unsubscribe_mailto: str = Field(
        default="",
        description="An address whose mail a relay hands to Nerve, offered in List-Unsubscribe "
        "beside the one-click link (`unsubscribe@shop.example`). Unset: the link only.",
    )
    bounce_maildir: str = Field(
        default="",
        description="A Maildir (the folder with `new/`, `cur/` and `tmp/`) that the MTA "
        "delivers bounces (DSN, RFC 3464) and abuse reports (ARF, RFC 5965) to, such as those "
        "sent back to NERVE_EMAIL_FROM. The worker reads its new mails every 30 seconds: a "
        "permanent bounce or a complaint suppresses the address and marks its message; handled "
        "mails move to `cur/`, unreadable ones to the folder `.Unreadable/`. Unset: no mailbox "
        "is read (a relay can still post its reports to `POST /api/v1/feedback`).",
    )
    sms_url: str = Field(
        default="",
        description="The SMS provider, Twilio's REST API or a gateway speaking its request "
        "format: its base URL, such as `https://api.twilio.com` (messages are POSTed to "
        "`{url}/2010-04-01/Accounts/{account}/Messages.json` with the account SID and the "
        "workspace's secret `sms.auth_token` as Basic auth). `recording:` sends nothing and "
        "keeps each message in memory; `recording:/path/sms.jsonl` also appends it to that "
        "file, for staging. Unset, `send_sms` steps wait in the dead-letter queue.",
    )
    sms_account_sid: str = Field(
        default="", description="The provider account (Twilio's `AC…` Account SID)."
    )
    sms_from: str = Field(
        default="",
        description="The sender of every SMS: a number in E.164 (`+4930123456`) or an "
        "alphanumeric sender id where the country allows one. Not needed with "
        "NERVE_SMS_MESSAGING_SERVICE_SID.",
    )
    sms_messaging_service_sid: str = Field(
        default="",
        description="A Twilio Messaging Service (`MG…`) that picks the sender from its pool; "
        "sent instead of `From` when set.",
    )
    sms_max_segments: int = Field(
        default=4,
        ge=1,
        le=10,
        description="Most segments one SMS may take (160 GSM-7 characters, or 70 with emoji or "
        "other Unicode, fill one; longer texts go in parts of 153 or 67, each billed); a longer "
        "message fails with its size in the log. A step's `with: {max_segments: N}` overrides "
        "it.",
    )
    sms_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long a request to the SMS provider may take before it is retried.",
    )
    shop_name: str = Field(default="", description="`shop.name` in templates.")
    shop_url: str = Field(default="", description="`shop.url` in templates.")
    shop_cart_url: str = Field(
        default="",
        description="The shop's cart page, where a cart resume link (`/r/TOKEN`) sends people "
        "with `cart_token=…` appended for the head to load the cart (`/v1/cart/{token}`). "
        "Unset: NERVE_SHOP_URL.",
    )
    cart_resume_days: int = Field(
        default=30, ge=1, le=365, description="How long a cart resume link in a mail works."
    )
    shop_imprint: str = Field(
        default="",
        description="`shop.imprint` in templates: the shop's legal name and postal address, "
        "which every marketing mail must show.",
    )
    push_vapid_subject: str = Field(
        default="",
        description="The contact every Web Push message's VAPID token names (RFC 8292 `sub`), "
        "for push services to reach the shop about its traffic: `mailto:ops@shop.example` or "
        "an `https:` URL. Unset: `mailto:` with the address of NERVE_EMAIL_FROM. The key pair "
        "is the workspace's secret `push.vapid_private_key` (`nerve push vapid`).",
    )
    push_fcm_project: str = Field(
        default="",
        description="The Firebase project whose apps get push messages through FCM HTTP v1 "
        "(with the workspace's secret `push.fcm_access_token`). Unset: pushes to app device "
        "tokens wait in the dead-letter queue.",
    )
    push_fcm_url: str = Field(
        default="https://fcm.googleapis.com",
        description="Where FCM HTTP v1 requests go (`{url}/v1/projects/{project}/messages:"
        "send`): Google's, or a gateway speaking its format.",
    )
    metrics_token: SecretStr = Field(
        default=SecretStr(""),
        description="When set, `GET /metrics` answers only requests that send "
        "`Authorization: Bearer <token>` (401 otherwise). Unset, `/metrics` is open.",
    )

    host: str = Field(default="127.0.0.1", description="Interface `nerve serve` binds.")
    port: int = Field(default=8000, description="Port `nerve serve` listens on.")
    public_url: str = Field(
        default="",
        description="The address people and heads reach Nerve at, for links Nerve makes. "
        "Unset: `http://<host>:<port>`.",
    )

    log_level: str = Field(
        default="info", description="`debug`, `info`, `warning`, `error` or `critical`."
    )
    log_format: Literal["console", "json"] = Field(
        default="console", description="`json`: one JSON object per log line, for collectors."
    )

    max_event_bytes: int = Field(
        default=32 * 1024,
        description="Largest single tracking message (Segment's documented limit); larger "
        "ones are refused with 413.",
    )
    max_request_bytes: int = Field(
        default=500 * 1024,
        description="Largest tracking batch request (Segment's documented limit).",
    )
    max_batch_events: int = Field(
        default=2500, description="Most messages in one tracking batch (Segment's limit)."
    )
    max_commit_events: int = Field(
        default=20_000,
        ge=1,
        description="Largest group commit: events from concurrent tracking requests written in "
        "one transaction.",
    )

    # Slowloris (R. Hansen, 2009) holds a server's connections open by sending requests slowly;
    # these bound what one client can hold, and for how long (nerve/server/protocol.py).
    header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="A request's head (request line and headers) must arrive within this many "
        "seconds of its first byte (of the connection's opening, for the first request); a "
        "later one is answered 408 and its connection closed, so slow senders cannot hold "
        "connections for ever. A head is a few hundred bytes, sent at once.",
    )
    body_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A request's body must arrive within this many seconds of its head; a later "
        "one is answered 408 and its connection closed. At 30 s the largest body Nerve takes "
        "(a 1 MiB flow definition; tracking batches are at most 500 KiB) needs 280 kbit/s.",
    )
    keep_alive_timeout_seconds: int = Field(
        default=5,
        ge=1,
        description="An idle kept-alive connection is closed after this many seconds (uvicorn's "
        "default). Behind a load balancer, make it longer than the balancer's idle timeout "
        "(60 s on AWS ALB), or the server may close a connection the balancer is reusing.",
    )
    max_connections: int = Field(
        default=1000,
        ge=1,
        description="Open connections (or requests in progress) per server process; a request "
        "beyond them is answered 503 with Retry-After. A request takes milliseconds, so a "
        "thousand at once is far beyond a healthy load. Each connection holds a file "
        "descriptor: `nerve serve` raises its soft open-files limit (toward the hard one) to "
        "twice this plus what the database needs, and lowers this setting, with a warning, "
        "when it cannot.",
    )
    max_header_bytes: int = Field(
        default=32 * 1024,
        ge=1024,
        description="Largest request head (request line and headers; browsers' cookies are "
        "most of it); a larger one is answered 431. nginx's default allows 32 KiB in all.",
    )

    @field_validator("outbound_allow", mode="before")
    @classmethod
    def _allow_list(cls, value: Any) -> Any:
        """A comma-separated variable, or a list; a typo fails at start, not on the first call."""
        if isinstance(value, str):
            value = [entry for entry in value.replace(",", " ").split() if entry]
        if isinstance(value, list | tuple):
            return [allowed_entry(str(entry)) for entry in value]
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
