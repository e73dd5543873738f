"""What the app can see of its services: each check returns a `Check`, never raises.

`/readyz` runs the two that decide whether a process can serve (database, broker); `flask
doctor` runs them all and prints the details. Details may name hosts but never a password.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import pika
import pika.exceptions
import redis
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from app.crypto import SecretBox, SecretKeyError
from app.settings import Settings

TIMEOUT_SECONDS = 3.0


class Level(enum.StrEnum):
    OK = "ok"
    WARN = "warn"  # works, but not as production should
    FAIL = "fail"  # broken: the app cannot do its work like this


@dataclass(frozen=True)
class Check:
    name: str
    level: Level
    detail: str

    @property
    def ok(self) -> bool:
        return self.level is not Level.FAIL


def _reason(exc: BaseException) -> str:
    """The first line of an error, without the SQL or a traceback."""
    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first}"[:300]


def safe_url(url: str) -> str:
    """A database or Redis URL with its password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not an SQLAlchemy URL: mask whatever sits between ':' and '@'
        head, at, tail = url.rpartition("@")
        if not at:
            return url
        scheme, _, credentials = head.partition("://")
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:***@{tail}"


def database(engine: Engine) -> Check:
    """The database answers a query."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        return Check("database", Level.FAIL, f"unreachable ({_reason(exc)})")
    return Check("database", Level.OK, f"reachable ({engine.dialect.name})")


def migrations(engine: Engine, script: ScriptDirectory) -> Check:
    """The database schema is at the newest migration."""
    heads = set(script.get_heads())
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except (SQLAlchemyError, OSError) as exc:
        return Check("migrations", Level.FAIL, f"cannot read the schema version ({_reason(exc)})")
    if current == heads:
        return Check("migrations", Level.OK, f"at head {', '.join(sorted(heads))}")
    seen = ", ".join(sorted(current)) or "none"
    return Check(
        "migrations",
        Level.FAIL,
        f"database at {seen}, code at {', '.join(sorted(heads))}: run `flask db upgrade`",
    )


def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=TIMEOUT_SECONDS,
        socket_timeout=TIMEOUT_SECONDS,
        decode_responses=True,
    )


def rabbitmq(url: str) -> Check:
    """RabbitMQ accepts a connection (and the URL's credentials and vhost)."""
    try:
        parameters = pika.URLParameters(url)
        parameters.socket_timeout = TIMEOUT_SECONDS
        parameters.connection_attempts = 1
        pika.BlockingConnection(parameters).close()
    except (pika.exceptions.AMQPError, OSError, ValueError) as exc:
        reason = type(exc).__name__
        return Check("broker", Level.FAIL, f"RabbitMQ at {safe_url(url)} unreachable ({reason})")
    return Check("broker", Level.OK, f"RabbitMQ at {safe_url(url)} reachable")


def broker(settings: Settings) -> Check:
    """The broker is reachable: Redis answers PING or RabbitMQ a connection, or the
    in-process broker is in use."""
    url = settings.broker_location
    if not url:
        return Check("broker", Level.OK, "in-process (Dramatiq StubBroker, no REDIS_URL)")
    if url.startswith(("amqp://", "amqps://")):
        return rabbitmq(url)
    client = redis_client(url)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        return Check("broker", Level.FAIL, f"Redis at {safe_url(url)} unreachable ({_reason(exc)})")
    finally:
        client.close()
    return Check("broker", Level.OK, f"Redis at {safe_url(url)} reachable")


def redis_persistence(settings: Settings) -> list[Check]:
    """Redis keeps queued messages: AOF or snapshots on, and no eviction of keys."""
    url = settings.broker_location
    if not url or url.startswith(("amqp://", "amqps://")):
        return []
    client = redis_client(url)
    try:
        found: dict[str, str] = {}
        for name in ("appendonly", "save", "maxmemory-policy"):
            answer: dict[Any, Any] = client.config_get(name)  # type: ignore[assignment]
            found.update({str(k): str(v) for k, v in answer.items()})
    except (redis.RedisError, OSError) as exc:  # managed Redis may refuse CONFIG
        detail = f"cannot read CONFIG ({_reason(exc)}); check persistence and eviction by hand"
        return [Check("redis persistence", Level.WARN, detail)]
    finally:
        client.close()
    appendonly, save = found.get("appendonly", "?"), found.get("save", "?")
    persistence = f"appendonly={appendonly} save={save!r}"
    if appendonly == "yes":
        durable = Check("redis persistence", Level.OK, persistence)
    elif save.strip():
        durable = Check("redis persistence", Level.WARN, f"{persistence}: snapshots only")
    else:  # recovery re-sends lost messages after a lease, but every restart costs a lease
        durable = Check("redis persistence", Level.WARN, f"{persistence}: nothing persisted")
    policy = found.get("maxmemory-policy", "?")
    if policy == "noeviction":
        eviction = Check("redis eviction", Level.OK, "maxmemory-policy=noeviction")
    else:
        detail = f"maxmemory-policy={policy}: Redis may drop queued messages; set noeviction"
        eviction = Check("redis eviction", Level.FAIL, detail)
    return [durable, eviction]


def secret_keys(settings: Settings) -> Check:
    """STEPLINE_SECRET_KEYS holds Fernet keys that encrypt and decrypt."""
    try:
        box = SecretBox(settings.secret_keys_value)
        if box.decrypt(box.encrypt("doctor")) != "doctor":
            raise SecretKeyError("the keys do not decrypt what they encrypt")
    except SecretKeyError as exc:
        return Check("secret keys", Level.FAIL, str(exc))
    count = len([k for k in settings.secret_keys_value.split(",") if k.strip()])
    return Check("secret keys", Level.OK, f"{count} valid Fernet key(s)")
