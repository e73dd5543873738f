"""`flask doctor`: what the app sees, and a non-zero exit on a broken setup."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from cryptography.fernet import Fernet
from flask import Flask

from app import create_app
from app.config import build
from app.extensions import container, db
from app.ops import checks
from app.ops.checks import Level
from app.ops.doctor import environment
from tests.redis_server import RedisServer


def _doctor(app: Flask) -> Result:
    return app.test_cli_runner().invoke(args=["doctor"])


def _lines(result: Result) -> dict[str, str]:
    """Each check's line by name ("database", "redis eviction", ...), logs left out."""
    found = {}
    for line in result.output.splitlines():
        if line.startswith("{"):
            continue
        name, _, rest = line.partition("  ")
        found[name.strip()] = rest.strip()
    return found


@pytest.fixture
def make_app() -> Iterator[Callable[..., Flask]]:
    """Apps with the given settings; their database connections are closed afterwards."""
    made: list[Flask] = []

    def make(**settings: Any) -> Flask:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "doctor",
                "SECRET_KEYS": Fernet.generate_key().decode(),
                "QUEUE_PREFIX": f"stepline-test-{uuid.uuid4().hex[:8]}",
                **settings,
            }
        )
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.engine.dispose()
        container(app).engine.dispose()


@pytest.fixture
def redis_evicting(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(
        tmp_path, "--save", "", "--appendonly", "yes", "--maxmemory-policy", "allkeys-lru"
    )
    yield server
    server.stop()


def test_doctor_passes_a_sound_setup_and_says_what_it_sees(app: Flask) -> None:
    # Given a migrated database and the embedded broker and worker
    # When an operator runs the doctor
    result = _doctor(app)

    # Then every check passes and each is named
    assert result.exit_code == 0, result.output
    lines = _lines(result)
    assert lines["database"].startswith("OK")
    assert lines["migrations"].startswith("OK    at head")
    assert lines["broker"].startswith("OK    in-process")
    assert lines["secret keys"] == "OK    1 valid Fernet key(s)"
    assert lines["embedded worker"].startswith("OK    on")
    assert "FAIL" not in result.output


def test_doctor_fails_on_an_unreachable_database_and_hides_its_password(
    make_app: Callable[..., Flask],
) -> None:
    # Given a database URL with a password, on a port where nothing listens
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://stepline:s3cret@127.0.0.1:1/x")

    # When the doctor runs
    result = _doctor(app)

    # Then it exits non-zero, names the database, and never prints the password
    assert result.exit_code == 1
    lines = _lines(result)
    assert lines["database url"] == "OK    postgresql+psycopg://stepline:***@127.0.0.1:1/x"
    assert lines["database"].startswith("FAIL  unreachable")
    assert "s3cret" not in result.output


def test_doctor_fails_when_migrations_are_not_applied(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    # Given an empty database
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'empty.db'}")

    # When the doctor runs
    result = _doctor(app)

    # Then it asks for `flask db upgrade`
    assert result.exit_code == 1
    assert "flask db upgrade" in _lines(result)["migrations"]


def test_doctor_fails_when_no_process_would_run_steps(
    make_app: Callable[..., Flask], database_url: str
) -> None:
    # Given no Redis and the embedded worker turned off
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url, EMBEDDED_WORKER=False)

    # When the doctor runs
    result = _doctor(app)

    # Then it says that nothing would run the steps
    assert result.exit_code == 1
    assert _lines(result)["embedded worker"].startswith("FAIL  off without REDIS_URL")


def test_doctor_reads_redis_persistence_and_refuses_eviction(
    make_app: Callable[..., Flask], database_url: str, redis_evicting: RedisServer
) -> None:
    # Given a Redis with AOF on but an evicting memory policy
    app = make_app(
        SQLALCHEMY_DATABASE_URI=database_url, REDIS_URL=redis_evicting.url, EMBEDDED_WORKER=False
    )

    # When the doctor runs
    result = _doctor(app)

    # Then it reports the persistence it read and fails on the eviction policy
    assert result.exit_code == 1
    lines = _lines(result)
    assert lines["broker"] == f"OK    Redis at {redis_evicting.url} reachable"
    assert lines["redis persistence"] == "OK    appendonly=yes save=''"
    assert lines["redis eviction"].startswith("FAIL  maxmemory-policy=allkeys-lru")


def test_doctor_fails_on_an_unreachable_redis(
    make_app: Callable[..., Flask], database_url: str
) -> None:
    app = make_app(
        SQLALCHEMY_DATABASE_URI=database_url,
        REDIS_URL="redis://:pw@127.0.0.1:1/0",
        EMBEDDED_WORKER=False,
    )

    result = _doctor(app)

    assert result.exit_code == 1
    assert _lines(result)["broker"].startswith("FAIL  Redis at redis://:***@127.0.0.1:1/0")
    assert ":pw@" not in result.output


def test_secret_keys_check_refuses_malformed_keys() -> None:
    assert checks.secret_keys(build({"SECRET_KEYS": "not-a-fernet-key"})).level is Level.FAIL
    assert checks.secret_keys(build({"SECRET_KEYS": ""})).level is Level.FAIL
    two = f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}"
    assert checks.secret_keys(build({"SECRET_KEYS": two})).detail == "2 valid Fernet key(s)"


def test_the_environment_check_names_stepline_variables_the_model_does_not_read() -> None:
    # Given a typo among the operator's variables, beside real ones and other programs'
    env = {
        "STEPLINE_WORKER_THREAD": "8",
        "STEPLINE_WORKER_THREADS": "8",
        "STEPLINE_INSTANCE_PATH": "/srv/instance",
        "GUNICORN_WORKERS": "2",
    }

    # When the doctor checks the environment against the settings model
    found = environment(env)

    # Then the typo is named, and only it
    assert found.level is Level.WARN
    assert "STEPLINE_WORKER_THREAD " in found.detail + " "
    assert "STEPLINE_WORKER_THREADS" not in found.detail
    assert environment({"STEPLINE_WORKER_THREADS": "8"}).level is Level.OK


def test_the_doctor_warns_about_an_unknown_variable(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEPLINE_RETENTION_DAY", "7")

    result = _doctor(app)

    assert result.exit_code == 0, result.output
    assert _lines(result)["environment"].startswith(
        "WARN  not Stepline settings, ignored: STEPLINE_RETENTION_DAY"
    )
