"""Settings: embedded defaults, overridden by the environment, overridden by a test mapping."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from app.net.policy import OutboundPolicy

# Environment variables the app reads, each documented in README.md "Configuration".
ENV_VARS = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "STEPLINE_SECRET_KEYS",
    "STEPLINE_EMBEDDED_WORKER",
    "STEPLINE_WORKER_THREADS",
    "STEPLINE_EXECUTION_LEASE_SECONDS",
    "STEPLINE_MAX_PAYLOAD_BYTES",
    "STEPLINE_RETENTION_DAYS",
    "STEPLINE_QUEUE_PREFIX",
    "STEPLINE_SCHEDULER_INTERVAL",
    "STEPLINE_RECOVERY_INTERVAL",
    "STEPLINE_API_RATE_LIMIT",
    "STEPLINE_OUTBOUND_ALLOWLIST",
    "STEPLINE_OUTBOUND_TIMEOUT_SECONDS",
    "STEPLINE_OUTBOUND_MAX_RESPONSE_BYTES",
    "STEPLINE_OUTBOUND_CA_BUNDLE",
    "STEPLINE_SLACK_API_BASE_URL",
    "STEPLINE_WEBHOOK_RATE_LIMIT",
    "STEPLINE_MAX_QUEUE_DEPTH",
    "STEPLINE_SCHEDULE_GRACE_SECONDS",
    "STEPLINE_LOG_LEVEL",
    "STEPLINE_LOG_FORMAT",
    "STEPLINE_METRICS_TOKEN",
    # Read by app/broker.py when a worker process imports it (Dramatiq redelivery knobs).
    "STEPLINE_BROKER_HEARTBEAT_TIMEOUT",
    "STEPLINE_BROKER_MAINTENANCE_CHANCE",
    "STEPLINE_GOOGLE_CLIENT_ID",
    "STEPLINE_GOOGLE_CLIENT_SECRET",
    "STEPLINE_GOOGLE_SERVER_METADATA_URL",
    "STEPLINE_GOOGLE_API_BASE_URLS",
    "STEPLINE_GOOGLE_POLL_INTERVAL",
)

DEFAULTS: dict[str, Any] = {
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "WTF_CSRF_TIME_LIMIT": None,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "REDIS_URL": None,
    # Run Dramatiq worker threads inside the web process (the embedded default).
    "EMBEDDED_WORKER": True,
    "WORKER_THREADS": 4,
    # Milliseconds an idle embedded worker thread waits for a message before it looks again
    # (and at most how long stopping it takes).
    "WORKER_POLL_MS": 100,
    # An execution that has made no progress for this long is re-sent by recovery.
    "EXECUTION_LEASE_SECONDS": 60,
    # Trigger data and each step output are capped to this many bytes of JSON.
    "MAX_PAYLOAD_BYTES": 1024 * 1024,
    "RETENTION_DAYS": 30,
    # How passwords are hashed, in werkzeug's notation ("scrypt" = n 2**15, r 8, p 1).
    "PASSWORD_HASH_METHOD": "scrypt",
    # Seconds between scheduler passes, and between recovery passes inside them.
    "SCHEDULER_INTERVAL": 1.0,
    "RECOVERY_INTERVAL": 5.0,
    # A message runs consecutive steps of one execution for at most this many seconds.
    "TIME_SLICE_SECONDS": 3.0,
    # Prefix of Dramatiq queue names, so that test runs never share a queue.
    "QUEUE_PREFIX": "stepline",
    # Requests per user (per address before authentication) across the JSON API, in
    # Flask-Limiter's notation; counted in Redis when REDIS_URL is set, else in memory.
    "API_RATE_LIMIT": "600/minute",
    # Outbound HTTP (app/net, every call to the outside world). Private destinations are
    # refused unless listed here (CIDRs such as 10.0.0.0/8, or host names); cloud metadata
    # addresses are refused whatever the list says.
    "OUTBOUND_ALLOWLIST": (),
    "OUTBOUND_CONNECT_TIMEOUT_SECONDS": 5.0,
    # Whole-request limit, redirects and body included; a step may ask for less, not more.
    "OUTBOUND_TIMEOUT_SECONDS": 30.0,
    "OUTBOUND_MAX_RESPONSE_BYTES": 1024 * 1024,
    # CA bundle (a file) to verify outbound HTTPS with; None: the certifi bundle.
    "OUTBOUND_CA_BUNDLE": None,
    # Slack Web API base URL (tests, and worker processes in tests, point it at a fake Slack).
    "SLACK_API_BASE_URL": "https://slack.com/api",
    # Requests per webhook (Flask-Limiter notation), so that a flood on one webhook is refused
    # with 429 while other workflows keep running; counted in Redis when REDIS_URL is set.
    "WEBHOOK_RATE_LIMIT": "100/second",
    # Back-pressure: above this many messages waiting in the step queue, webhooks (and the
    # API's trigger) answer 429 with Retry-After and schedules wait for a later tick.
    "MAX_QUEUE_DEPTH": 1000,
    # A schedule slot later than this is "missed" and follows the trigger's catch-up policy.
    "SCHEDULE_GRACE_SECONDS": 60.0,
    # PostgreSQL synchronous_commit of the runtime engine's connections (app/container.engine_for):
    # the runner's and webhook ingress's. Keep "on": a delivery is answered 2xx only once its
    # execution is durably stored, and a step's recorded outcome survives a database crash.
    "RUNNER_SYNCHRONOUS_COMMIT": "on",
    # Logs (app/logs.py): one JSON object per line on stderr ("text" for plain lines).
    "LOG_LEVEL": "INFO",
    "LOG_FORMAT": "json",
    # Bearer token that /metrics requires; unset: /metrics answers 404.
    "METRICS_TOKEN": None,
    # /metrics reports executions and step durations of this recent window.
    "METRICS_WINDOW_SECONDS": 300,
    # Google (OAuth connections, Google triggers and actions). Authlib reads the first three
    # (GOOGLE_*); tests point the discovery document and the API base URLs at a fake Google.
    "GOOGLE_CLIENT_ID": None,
    "GOOGLE_CLIENT_SECRET": None,
    "GOOGLE_SERVER_METADATA_URL": "https://accounts.google.com/.well-known/openid-configuration",
    "GOOGLE_API_BASE_URLS": {
        "gmail": "https://gmail.googleapis.com/gmail/v1",
        "sheets": "https://sheets.googleapis.com/v4",
        "drive": "https://www.googleapis.com/drive/v3",
        "calendar": "https://www.googleapis.com/calendar/v3",
    },
    # Seconds between two polls of one Google trigger.
    "GOOGLE_POLL_INTERVAL": 60.0,
}

GOOGLE_APIS = ("gmail", "sheets", "drive", "calendar")


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise RuntimeError(f"{name} must be an integer, got {value!r}") from None


def _float(value: str, name: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise RuntimeError(f"{name} must be a number, got {value!r}") from None


def _read_or_create(path: Path, make: Any) -> str:
    """Return the secret stored at `path`, generating it once if the file does not exist."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(make())
    return path.read_text().strip()


def load(instance_path: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build the app's settings: defaults, then the environment, then `overrides`."""
    # An empty variable counts as unset (docker-compose.yml passes `${VAR:-}` through).
    env = {name: value for name, value in os.environ.items() if value}
    overrides = dict(overrides or {})
    instance = Path(instance_path)
    settings: dict[str, Any] = dict(DEFAULTS)

    if "DATABASE_URL" in env:
        settings["SQLALCHEMY_DATABASE_URI"] = env["DATABASE_URL"]
    if "REDIS_URL" in env:
        settings["REDIS_URL"] = env["REDIS_URL"] or None
    if "SECRET_KEY" in env:
        settings["SECRET_KEY"] = env["SECRET_KEY"]
    if "STEPLINE_SECRET_KEYS" in env:
        settings["SECRET_KEYS"] = env["STEPLINE_SECRET_KEYS"]
    if "STEPLINE_EMBEDDED_WORKER" in env:
        settings["EMBEDDED_WORKER"] = env["STEPLINE_EMBEDDED_WORKER"].lower() in {
            "1",
            "true",
            "yes",
        }
    for env_name, key in (
        ("STEPLINE_WORKER_THREADS", "WORKER_THREADS"),
        ("STEPLINE_EXECUTION_LEASE_SECONDS", "EXECUTION_LEASE_SECONDS"),
        ("STEPLINE_MAX_PAYLOAD_BYTES", "MAX_PAYLOAD_BYTES"),
        ("STEPLINE_RETENTION_DAYS", "RETENTION_DAYS"),
        ("STEPLINE_MAX_QUEUE_DEPTH", "MAX_QUEUE_DEPTH"),
    ):
        if env_name in env:
            settings[key] = _int(env[env_name], env_name)
    for env_name, key in (
        ("STEPLINE_SCHEDULER_INTERVAL", "SCHEDULER_INTERVAL"),
        ("STEPLINE_RECOVERY_INTERVAL", "RECOVERY_INTERVAL"),
        ("STEPLINE_SCHEDULE_GRACE_SECONDS", "SCHEDULE_GRACE_SECONDS"),
    ):
        if env_name in env:
            settings[key] = _float(env[env_name], env_name)
    if "STEPLINE_QUEUE_PREFIX" in env:
        settings["QUEUE_PREFIX"] = env["STEPLINE_QUEUE_PREFIX"]
    if "STEPLINE_API_RATE_LIMIT" in env:
        settings["API_RATE_LIMIT"] = env["STEPLINE_API_RATE_LIMIT"]
    for env_name, key in (
        ("STEPLINE_LOG_LEVEL", "LOG_LEVEL"),
        ("STEPLINE_LOG_FORMAT", "LOG_FORMAT"),
        ("STEPLINE_METRICS_TOKEN", "METRICS_TOKEN"),
    ):
        if env.get(env_name):
            settings[key] = env[env_name]
    if "STEPLINE_WEBHOOK_RATE_LIMIT" in env:
        settings["WEBHOOK_RATE_LIMIT"] = env["STEPLINE_WEBHOOK_RATE_LIMIT"]
    if "STEPLINE_OUTBOUND_ALLOWLIST" in env:
        entries = env["STEPLINE_OUTBOUND_ALLOWLIST"].split(",")
        settings["OUTBOUND_ALLOWLIST"] = tuple(e.strip() for e in entries if e.strip())
    if "STEPLINE_OUTBOUND_TIMEOUT_SECONDS" in env:
        settings["OUTBOUND_TIMEOUT_SECONDS"] = float(
            _int(env["STEPLINE_OUTBOUND_TIMEOUT_SECONDS"], "STEPLINE_OUTBOUND_TIMEOUT_SECONDS")
        )
    if "STEPLINE_OUTBOUND_MAX_RESPONSE_BYTES" in env:
        settings["OUTBOUND_MAX_RESPONSE_BYTES"] = _int(
            env["STEPLINE_OUTBOUND_MAX_RESPONSE_BYTES"], "STEPLINE_OUTBOUND_MAX_RESPONSE_BYTES"
        )
    if "STEPLINE_OUTBOUND_CA_BUNDLE" in env:
        settings["OUTBOUND_CA_BUNDLE"] = env["STEPLINE_OUTBOUND_CA_BUNDLE"] or None
    if env.get("STEPLINE_SLACK_API_BASE_URL"):
        settings["SLACK_API_BASE_URL"] = env["STEPLINE_SLACK_API_BASE_URL"]

    _google_from_env(settings, env)

    settings.update(overrides)
    try:  # a malformed allow-list entry is a start-up error, not a surprise at run time
        OutboundPolicy.parse(settings["OUTBOUND_ALLOWLIST"])
    except ValueError as exc:
        raise RuntimeError(f"STEPLINE_OUTBOUND_ALLOWLIST: {exc}") from None

    # Embedded defaults: a SQLite file and generated secrets under instance/.
    if not settings.get("SQLALCHEMY_DATABASE_URI"):
        instance.mkdir(parents=True, exist_ok=True)
        settings["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'stepline.db'}"
    if not settings.get("SECRET_KEY"):
        settings["SECRET_KEY"] = _read_or_create(
            instance / "secret_key", lambda: secrets.token_hex(32)
        )
    if not settings.get("SECRET_KEYS"):
        settings["SECRET_KEYS"] = _read_or_create(
            instance / "fernet.key", lambda: Fernet.generate_key().decode()
        )
    settings["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(
        settings["SQLALCHEMY_DATABASE_URI"]
    )
    return settings


def _google_from_env(settings: dict[str, Any], env: Mapping[str, str]) -> None:
    for name in ("CLIENT_ID", "CLIENT_SECRET", "SERVER_METADATA_URL"):
        if env.get(f"STEPLINE_GOOGLE_{name}"):
            settings[f"GOOGLE_{name}"] = env[f"STEPLINE_GOOGLE_{name}"]
    if "STEPLINE_GOOGLE_POLL_INTERVAL" in env:
        settings["GOOGLE_POLL_INTERVAL"] = _float(
            env["STEPLINE_GOOGLE_POLL_INTERVAL"], "STEPLINE_GOOGLE_POLL_INTERVAL"
        )
    if env.get("STEPLINE_GOOGLE_API_BASE_URLS"):
        settings["GOOGLE_API_BASE_URLS"] = {
            **settings["GOOGLE_API_BASE_URLS"],
            **parse_base_urls(env["STEPLINE_GOOGLE_API_BASE_URLS"]),
        }


def parse_base_urls(value: str) -> dict[str, str]:
    """`gmail=https://...,sheets=https://...` (or one URL for all four Google APIs)."""
    value = value.strip()
    if "=" not in value:
        base = value.rstrip("/")
        return {
            "gmail": f"{base}/gmail/v1",
            "sheets": f"{base}/v4",
            "drive": f"{base}/drive/v3",
            "calendar": f"{base}/calendar/v3",
        }
    urls: dict[str, str] = {}
    for item in value.split(","):
        name, _, url = item.partition("=")
        name = name.strip()
        if name not in GOOGLE_APIS or not url.strip():
            raise RuntimeError(
                f"STEPLINE_GOOGLE_API_BASE_URLS: expected name=url with a name among "
                f"{', '.join(GOOGLE_APIS)}, got {item.strip()!r}"
            )
        urls[name] = url.strip().rstrip("/")
    return urls


def normalize_database_url(url: str) -> str:
    """Make PostgreSQL URLs use psycopg 3 whatever spelling the operator wrote."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
