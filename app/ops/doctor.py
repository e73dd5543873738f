"""`flask doctor`: what this process sees of its configuration and services.

Every check runs (one failing does not hide the others); the command exits non-zero when any
of them fails. Warnings name settings that work but are not what production wants, and
STEPLINE_* variables that the settings model does not know (a typo is otherwise silent).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import Engine

from app.config import settings_of, variables
from app.extensions import db
from app.ops import checks
from app.ops.checks import Check, Level
from app.settings import Settings

# STEPLINE_* variables read outside the settings model: the instance folder of worker
# processes (app/container.py) and the password of `flask create-user` (app/cli).
OTHER_VARIABLES = frozenset({"STEPLINE_INSTANCE_PATH", "STEPLINE_NEW_USER_PASSWORD"})


def environment(env: Mapping[str, str]) -> Check:
    """The STEPLINE_* variables set in `env` are all settings the model reads."""
    known = set(variables())
    unknown = sorted(
        name for name in env if name.startswith("STEPLINE_") and name not in known | OTHER_VARIABLES
    )
    if unknown:
        return Check(
            "environment",
            Level.WARN,
            f"not Stepline settings, ignored: {', '.join(unknown)} (README, Configuration)",
        )
    given = sorted(name for name in known if env.get(name))
    return Check("environment", Level.OK, f"{len(given)} of {len(known)} settings set")


def _processes(settings: Settings) -> list[Check]:
    url = settings.database_url
    broker_url = settings.broker_location
    found = []
    if settings.embedded_worker:
        worker = Check("embedded worker", Level.OK, "on: worker threads run in web processes")
    elif broker_url:
        worker = Check("embedded worker", Level.OK, "off: `dramatiq app.tasks` runs the steps")
    else:  # nothing would ever consume the in-process queue
        worker = Check(
            "embedded worker",
            Level.FAIL,
            "off without REDIS_URL: no process would run any step; set REDIS_URL (or "
            "STEPLINE_BROKER_URL) or turn STEPLINE_EMBEDDED_WORKER on",
        )
    found.append(worker)
    if broker_url and broker_url.startswith("amqp") and settings.limit_storage_uri == "memory://":
        found.append(
            Check(
                "rate limits",
                Level.WARN,
                "counted in each process (RabbitMQ broker, no REDIS_URL): set REDIS_URL or "
                "RATELIMIT_STORAGE_URI so that every web process shares them",
            )
        )
    if broker_url and url.startswith("sqlite"):
        found.append(
            Check(
                "database kind",
                Level.WARN,
                "SQLite with separate worker processes: use PostgreSQL in production",
            )
        )
    return found


def public_address(settings: Settings) -> Check:
    """STEPLINE_PUBLIC_URL in production (separate workers, or PostgreSQL): https, or a warning
    (webhook URLs and the OAuth callback would follow each request's address, cookies would be
    Secure only on requests that arrive over https)."""
    embedded = not settings.database_url or settings.database_url.startswith("sqlite")
    production = bool(settings.broker_location) or not embedded
    url = settings.public_url
    if url is not None and url.startswith("https://"):
        return Check("public url", Level.OK, url)
    if not production:
        return Check("public url", Level.OK, url or "unset: URLs follow each request's address")
    problem = f"{url} is plain http" if url else "unset"
    return Check(
        "public url",
        Level.WARN,
        f"STEPLINE_PUBLIC_URL {problem}: set the https address of the TLS proxy, e.g. "
        "https://stepline.example.com (webhook URLs, the OAuth callback, Secure cookies)",
    )


def _secrets(settings: Settings, instance: Path) -> list[Check]:
    found = [checks.secret_keys(settings)]
    generated = [
        variable
        for variable, value, name in (
            ("SECRET_KEY", settings.secret_key_value, "secret_key"),
            ("STEPLINE_SECRET_KEYS", settings.secret_keys_value, "fernet.key"),
        )
        if (instance / name).is_file() and (instance / name).read_text().strip() == value
    ]
    if generated and settings.broker_location:
        found.append(
            Check(
                "secret source",
                Level.WARN,
                f"{', '.join(generated)} generated under instance/: every host must share "
                "them, set them in the environment",
            )
        )
    return found


def _migrations(app: Flask, engine: Engine) -> Check:
    """Compare the database's revision with the migrations folder's heads."""
    migrate = app.extensions["migrate"]
    directory = Path(migrate.directory)
    if not directory.is_absolute() and not directory.exists():
        directory = Path(app.root_path).parent / directory  # run from another folder
    if not directory.is_dir():
        return Check("migrations", Level.FAIL, f"migrations folder {directory} not found")
    config = migrate.migrate.get_config(str(directory))
    return checks.migrations(engine, ScriptDirectory.from_config(config))


def diagnose(app: Flask) -> list[Check]:
    """Run every check against `app`'s settings and services."""
    settings = settings_of(app)
    found = [Check("database url", Level.OK, checks.safe_url(settings.database_url))]
    with app.app_context():
        engine = db.engine
        database = checks.database(engine)
        found.append(database)
        if database.ok:
            found.append(_migrations(app, engine))
    broker = checks.broker(settings)
    found.append(broker)
    if broker.ok:
        found.extend(checks.redis_persistence(settings))
    found.extend(_secrets(settings, Path(app.instance_path)))
    found.extend(_processes(settings))
    found.append(public_address(settings))
    found.append(environment(os.environ))
    return found


def report(found: list[Check]) -> str:
    """One aligned line per check: name, level, detail."""
    width = max(len(check.name) for check in found)
    return "\n".join(
        f"{check.name.ljust(width)}  {check.level.value.upper():4}  {check.detail}"
        for check in found
    )
