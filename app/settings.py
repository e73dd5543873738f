"""Stepline's settings: one typed model, each field naming its environment variable.

Precedence, lowest first: the field's default, its environment variable, then the mapping a
caller passes (Flask-style keys such as `WORKER_THREADS`; app/config.py loads them). An empty
variable counts as unset; a malformed value is a start-up error naming it (`SettingsError`).
A field with a `validation_alias` is read from that variable and documented, with its
description as the text, in README.md and .env.example (tests/unit/test_settings_docs.py);
one without is an internal knob only the mapping sets. No Flask here: the core reads these.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from limits import parse_many
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from app.net.policy import OutboundPolicy
from app.setting_values import (
    GOOGLE_API_BASE_URLS,
    GOOGLE_APIS,
    DeclaredVariables,
    SettingsError,
    normalize_database_url,
    parse_base_urls,
    public_url,
)
from app.setting_values import variable as _variable
from app.settings_services import ServiceSettings

__all__ = [
    "GOOGLE_APIS",
    "GOOGLE_API_BASE_URLS",
    "Settings",
    "SettingsError",
    "keys",
    "normalize_database_url",
    "parse_base_urls",
    "plain",
]

# URL schemes STEPLINE_BROKER_URL may use: Redis, or RabbitMQ (AMQP).
BROKER_SCHEMES = ("redis", "rediss", "unix", "amqp", "amqps")

# Mapping keys other than the field's name in capitals (Flask's spelling), by that name.
KEY_ALIASES = {"DATABASE_URL": "SQLALCHEMY_DATABASE_URI"}


class Settings(ServiceSettings):
    """Every setting of a Stepline process, typed; see the module docstring for precedence.
    The outside services' settings (Slack, Notion, Telegram, Google) are `ServiceSettings`."""

    model_config = SettingsConfigDict(
        case_sensitive=True,
        env_ignore_empty=True,
        extra="forbid",
        frozen=True,
        validate_by_alias=True,
        validate_by_name=True,
        validate_default=False,
    )

    # --- Storage, broker and secrets (embedded defaults under instance/, filled by `load`)
    database_url: str = _variable(
        "DATABASE_URL",
        "",
        "SQLAlchemy URL; write PostgreSQL as `postgresql+psycopg://user:pass@host/db`",
    )
    redis_url: str | None = _variable(
        "REDIS_URL",
        None,
        "Redis for the Dramatiq broker (and rate limits); unset → in-process broker and worker "
        "threads",
    )
    broker_url: str | None = _variable(
        "STEPLINE_BROKER_URL",
        None,
        "the Dramatiq broker when it is not REDIS_URL: `amqp://user:pass@host:5672/vhost` "
        "(RabbitMQ) or `redis://…`; unset → REDIS_URL",
    )
    secret_key: SecretStr = _variable("SECRET_KEY", SecretStr(""), "signs sessions and CSRF tokens")
    secret_keys: SecretStr = _variable(
        "STEPLINE_SECRET_KEYS",
        SecretStr(""),
        "comma-separated Fernet keys encrypting credentials at rest; the first encrypts, all "
        "decrypt (rotation)",
    )

    # --- Processes and the engine
    embedded_worker: bool = _variable(
        "STEPLINE_EMBEDDED_WORKER",
        True,
        "run worker threads inside the web process (set `false` when `dramatiq app.tasks` runs)",
    )
    worker_threads: int = _variable("STEPLINE_WORKER_THREADS", 4, "threads of the embedded worker")
    execution_lease_seconds: float = _variable(
        "STEPLINE_EXECUTION_LEASE_SECONDS",
        60.0,
        "an execution without progress for this long is re-sent by recovery",
    )
    step_time_limit: float = Field(
        900.0,
        gt=0,
        le=86400,
        validation_alias="STEPLINE_STEP_TIME_LIMIT",
        description="seconds one attempt of a step may run when its workflow sets no step time "
        "limit (an attempt over it fails as a timeout and is retried under the step's rules)",
    )
    max_payload_bytes: int = _variable(
        "STEPLINE_MAX_PAYLOAD_BYTES", 1024 * 1024, "cap on trigger data and on each step's output"
    )
    max_loop_items: int = _variable("STEPLINE_MAX_LOOP_ITEMS", 10000, "cap on a loop's items")
    max_step_runs: int = _variable("STEPLINE_MAX_STEP_RUNS", 10000, "cap on a run's step runs")
    max_child_depth: int = _variable(
        "STEPLINE_MAX_CHILD_DEPTH", 5, "how deep workflows may call each other (run_workflow)"
    )
    retention_days: int = _variable(
        "STEPLINE_RETENTION_DAYS", 30, "executions older than this are pruned daily"
    )
    queue_prefix: str = _variable(
        "STEPLINE_QUEUE_PREFIX",
        "stepline",
        "namespace of the broker's queues: Redis key prefix, or RabbitMQ queue-name prefix "
        "(several installations can share one broker)",
    )
    scheduler_interval: float = _variable(
        "STEPLINE_SCHEDULER_INTERVAL", 1.0, "seconds between scheduler passes"
    )
    recovery_interval: float = _variable(
        "STEPLINE_RECOVERY_INTERVAL",
        5.0,
        "seconds between recovery passes (re-sending executions whose lease expired)",
    )
    schedule_grace_seconds: float = _variable(
        "STEPLINE_SCHEDULE_GRACE_SECONDS",
        60.0,
        "a schedule slot later than this was missed (scheduler down): it follows the "
        "trigger's catch-up policy",
    )
    broker_heartbeat_timeout: int | None = _variable(
        "STEPLINE_BROKER_HEARTBEAT_TIMEOUT",
        None,
        "worker processes: milliseconds without a heartbeat after which Dramatiq hands a "
        "worker's unacknowledged messages to another (recovery does not wait for it)",
    )
    broker_maintenance_chance: int | None = _variable(
        "STEPLINE_BROKER_MAINTENANCE_CHANCE",
        None,
        "worker processes: Redis commands out of a million that run Dramatiq's maintenance "
        "pass (the redelivery above)",
    )

    # --- Admission
    api_rate_limit: str = _variable(
        "STEPLINE_API_RATE_LIMIT",
        "600/minute",
        "JSON API requests per user (per address before authentication), e.g. "
        "`100/minute;5000/day`",
    )
    webhook_rate_limit: str = _variable(
        "STEPLINE_WEBHOOK_RATE_LIMIT",
        "100/second",
        "requests per webhook URL (e.g. `50/second;2000/minute`); past it a webhook answers "
        "429 with `Retry-After`, so a flood on one webhook does not starve the others (web "
        "processes take hits from Redis in leases of 1/32 of the limit: a window may refuse "
        "a few early, never admit more)",
    )
    login_rate_limit: str = _variable(
        "STEPLINE_LOGIN_RATE_LIMIT",
        "5 per minute",
        "failed logins (and refused registrations) per address and per email; past it those "
        "pages answer 429 with `Retry-After`",
    )
    max_queue_depth: int = _variable(
        "STEPLINE_MAX_QUEUE_DEPTH",
        1000,
        "back-pressure: while more step messages than this wait in the queue, webhooks answer "
        "429 with `Retry-After` and schedules wait for a later tick",
    )

    # --- Behind a TLS-terminating proxy (app/proxy.py)
    public_url: str | None = _variable(
        "STEPLINE_PUBLIC_URL",
        None,
        "the address people and senders reach Stepline at, e.g. `https://stepline.example.com` "
        "(a path after the host is kept): the base of every external URL (webhook URLs in the "
        "editor and the API, the Google OAuth callback); unset, each request's own address "
        "(after STEPLINE_PROXY_HOPS). An https address makes cookies Secure",
    )
    proxy_hops: int = _variable(
        "STEPLINE_PROXY_HOPS",
        0,
        "reverse proxies in front of the web processes whose `X-Forwarded-For`, `-Proto`, "
        "`-Host`, `-Port` and `-Prefix` headers are trusted (werkzeug's ProxyFix); 0 trusts "
        "none. Set it to the number of proxies, never more: a client could forge the rest",
    )
    session_cookie_secure: bool | None = _variable(
        "SESSION_COOKIE_SECURE",
        None,
        "`true`: cookies (session, remember-me) are always sent Secure (https only); `false`: "
        "never; unset: Secure when STEPLINE_PUBLIC_URL is https, else on requests that "
        "arrived over https",
    )
    hsts_seconds: int = _variable(
        "STEPLINE_HSTS_SECONDS",
        0,
        "send `Strict-Transport-Security: max-age=N` on https answers (browsers then refuse "
        "plain http for N seconds; start small); 0 sends none",
    )

    # --- Outbound requests (app/net)
    outbound_allowlist: Annotated[tuple[str, ...], NoDecode] = _variable(
        "STEPLINE_OUTBOUND_ALLOWLIST",
        (),
        "comma-separated CIDRs or host names that outbound connections (HTTP requests, "
        "service actions, Google, SMTP and IMAP) may reach although private, e.g. "
        "`10.0.0.0/8,vault.internal`; loopback, "
        "private, link-local and other non-public addresses are refused otherwise, cloud "
        "metadata addresses always",
    )
    outbound_timeout_seconds: float = _variable(
        "STEPLINE_OUTBOUND_TIMEOUT_SECONDS",
        30.0,
        "whole-request limit of an outbound request (redirects and body included); steps may "
        "ask for less",
    )
    outbound_max_response_bytes: int = _variable(
        "STEPLINE_OUTBOUND_MAX_RESPONSE_BYTES",
        1024 * 1024,
        "outbound responses larger than this are refused",
    )
    outbound_ca_bundle: str | None = _variable(
        "STEPLINE_OUTBOUND_CA_BUNDLE",
        None,
        "CA bundle file to verify outbound HTTPS with (an internal CA)",
    )

    # --- Operations
    log_level: str = _variable(
        "STEPLINE_LOG_LEVEL", "INFO", "level of the logs every process writes to stderr"
    )
    log_format: Literal["json", "text"] = _variable(
        "STEPLINE_LOG_FORMAT",
        "json",
        "`json`: one JSON object per line (`timestamp`, `level`, `logger`, `message`, and "
        "fields such as `execution_id`, `step_key`); `text`: plain lines for a terminal",
    )
    metrics_token: SecretStr | None = _variable(
        "STEPLINE_METRICS_TOKEN",
        None,
        "bearer token that `GET /metrics` requires; unset, `/metrics` answers 404",
    )

    # --- Internal knobs: no environment variable; tests set them through the mapping.
    worker_poll_ms: int = Field(
        100,
        description="milliseconds an idle embedded worker thread waits for a message before it "
        "looks again (and at most how long stopping it takes)",
    )
    password_hash_method: str = Field(
        "scrypt",
        description="how passwords are hashed, in werkzeug's notation "
        '("scrypt" = n 2**15, r 8, p 1)',
    )
    time_slice_seconds: float = Field(
        3.0,
        description="a message runs consecutive steps of one execution for at most this long",
    )
    runner_synchronous_commit: str = Field(
        "on",
        description="PostgreSQL synchronous_commit of the runner's and webhook ingress's "
        "connections; keep `on`: a delivery is answered 2xx only once its execution is "
        "durably stored",
    )
    outbound_connect_timeout_seconds: float = Field(
        5.0, description="connect timeout of an outbound request"
    )
    metrics_window_seconds: float = Field(
        300.0, description="/metrics reports executions and step durations of this window"
    )
    ratelimit_storage_uri: str | None = Field(
        None,
        description="where API and webhook rate-limit counters live (Flask-Limiter's "
        "notation); unset: REDIS_URL, else memory",
    )
    ratelimit_strategy: str = Field(
        "fixed-window", description="Flask-Limiter's strategy for the API's budget"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The mapping first, then the declared variables; no .env file, no secrets dir."""
        return init_settings, DeclaredVariables(settings_cls)

    @field_validator("database_url", mode="after")
    @classmethod
    def _psycopg(cls, url: str) -> str:
        return normalize_database_url(url)

    @field_validator("broker_url", mode="after")
    @classmethod
    def _broker_scheme(cls, value: str | None) -> str | None:
        if value is not None and value.split("://", 1)[0] not in BROKER_SCHEMES:
            schemes = ", ".join(f"{scheme}://" for scheme in BROKER_SCHEMES)
            raise ValueError(f"expected a URL starting with {schemes}")
        return value

    @field_validator("embedded_worker", mode="before")
    @classmethod
    def _switch(cls, value: Any) -> Any:
        # As before the model: 1/true/yes turn it on, anything else (0, false, no, off) off.
        if isinstance(value, str):
            return value.strip().lower() in {"1", "true", "yes", "on"}
        return value

    @field_validator("api_rate_limit", "webhook_rate_limit", "login_rate_limit", mode="after")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError:
            raise ValueError(f"expected a rate limit such as 100/minute, got {value!r}") from None
        return value

    @field_validator("outbound_allowlist", mode="before")
    @classmethod
    def _allowlist(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        entries = tuple(str(entry).strip() for entry in value or () if str(entry).strip())
        OutboundPolicy.parse(entries)  # a malformed entry is a start-up error (ValueError)
        return entries

    @field_validator("public_url", mode="after")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        return None if value is None else public_url(value)

    @field_validator("proxy_hops", "hsts_seconds", mode="after")
    @classmethod
    def _not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must be 0 or more")
        return value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def secret_key_value(self) -> str:
        """SECRET_KEY in clear (Flask signs sessions with it)."""
        return self.secret_key.get_secret_value()

    @property
    def secret_keys_value(self) -> str:
        """STEPLINE_SECRET_KEYS in clear, for the SecretBox."""
        return self.secret_keys.get_secret_value()

    @property
    def broker_location(self) -> str | None:
        """The Dramatiq broker's URL: STEPLINE_BROKER_URL, else REDIS_URL, else None (the
        in-process StubBroker)."""
        return self.broker_url or self.redis_url

    @property
    def limit_storage_uri(self) -> str:
        """Where rate-limit counters live: RATELIMIT_STORAGE_URI, else REDIS_URL, else memory."""
        return self.ratelimit_storage_uri or self.redis_url or "memory://"


_KEYS = {KEY_ALIASES.get(name.upper(), name.upper()): name for name in Settings.model_fields}


def keys() -> dict[str, str]:
    """The mapping's keys (Flask-style: the field's name in capitals), with the field's name."""
    return dict(_KEYS)


def plain(value: Any) -> Any:
    """A value as the Flask config holds it: secrets in clear."""
    return value.get_secret_value() if isinstance(value, SecretStr) else value
