"""`flask doctor`: what this process sees of its configuration and services.

Every check runs (one failing does not hide the others); the command exits non-zero when any
of them fails. Warnings name settings that work but are not what production wants.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import Engine

from app.ops import checks
from app.ops.checks import Check, Level


def _processes(settings: Mapping[str, Any]) -> list[Check]:
    url = str(settings["SQLALCHEMY_DATABASE_URI"])
    redis_url = settings.get("REDIS_URL")
    found = []
    embedded = bool(settings.get("EMBEDDED_WORKER"))
    if embedded:
        worker = Check("embedded worker", Level.OK, "on: worker threads run in web processes")
    elif redis_url:
        worker = Check("embedded worker", Level.OK, "off: `dramatiq app.tasks` runs the steps")
    else:  # nothing would ever consume the in-process queue
        worker = Check(
            "embedded worker",
            Level.FAIL,
            "off without REDIS_URL: no process would run any step; set REDIS_URL or turn "
            "STEPLINE_EMBEDDED_WORKER on",
        )
    found.append(worker)
    if redis_url and url.startswith("sqlite"):
        found.append(
            Check(
                "database kind",
                Level.WARN,
                "SQLite with separate worker processes: use PostgreSQL in production",
            )
        )
    return found


def _secrets(settings: Mapping[str, Any], instance: Path) -> list[Check]:
    found = [checks.secret_keys(settings)]
    generated = [
        variable
        for variable, key, name in (
            ("SECRET_KEY", "SECRET_KEY", "secret_key"),
            ("STEPLINE_SECRET_KEYS", "SECRET_KEYS", "fernet.key"),
        )
        if (instance / name).is_file() and (instance / name).read_text().strip() == settings[key]
    ]
    if generated and settings.get("REDIS_URL"):
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
    from app.extensions import db

    settings = app.config
    url = str(settings["SQLALCHEMY_DATABASE_URI"])
    found = [Check("database url", Level.OK, checks.safe_url(url))]
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
    return found


def report(found: list[Check]) -> str:
    """One aligned line per check: name, level, detail."""
    width = max(len(check.name) for check in found)
    return "\n".join(
        f"{check.name.ljust(width)}  {check.level.value.upper():4}  {check.detail}"
        for check in found
    )
