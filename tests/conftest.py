"""Shared fixtures: a fresh database per backend per run, an app per test, logged-in clients."""

from __future__ import annotations

import json
import os
import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app import create_app
from app.config import ENV_VARS, settings_of
from app.engine import budgets
from app.extensions import container, db, embedded_worker
from app.ingress import approval_limits
from app.models import Base

PG_ADMIN_URL = os.environ.get("STEPLINE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["sqlite", "postgresql"]
PASSWORD = "correct horse battery"
# scrypt with a small work factor: the suite registers hundreds of users (the default costs
# ~130 ms of CPU each); tests/unit covers the default parameters.
TEST_PASSWORD_HASH = "scrypt:1024:8:1"


def _pg_admin() -> psycopg.Connection:
    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:  # CI must see this as a failure, never a skip
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")


def create_database(backend: str, directory: Path) -> str:
    """Create an empty database of `backend` owned by this test run and return its URL."""
    if backend == "sqlite":
        return f"sqlite:///{directory / f'stepline-{uuid.uuid4().hex[:8]}.db'}"
    name = f"stepline_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + (
        f"/{name}"
    )


def drop_database(url: str) -> None:
    if url.startswith("postgresql"):
        name = url.rsplit("/", 1)[1]
        with _pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def base_config(database_url: str) -> dict[str, object]:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-key",
        "SECRET_KEYS": Fernet.generate_key().decode(),
        "QUEUE_PREFIX": f"stepline-test-{uuid.uuid4().hex[:8]}",
        "PASSWORD_HASH_METHOD": TEST_PASSWORD_HASH,
        "WORKER_POLL_MS": 10,  # each test stops its app's worker threads: let that be quick
    }


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app reads the environment; tests start from none of its variables."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One migrated database per backend for the whole run; tests empty it after use."""
    from flask_migrate import upgrade

    url = create_database(backend, tmp_path_factory.mktemp("db"))
    app = create_app(base_config(url))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield url
    drop_database(url)


def empty_database(app: Flask) -> None:
    with app.app_context():
        db.session.rollback()
        for table in reversed(Base.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
        db.engine.dispose()


# Settings that base_config draws at random, drawn once for this test process's `app_config`:
# equal settings let tests share a built app (below).
_RUN_SECRETS = {
    "SECRET_KEYS": Fernet.generate_key().decode(),
    "QUEUE_PREFIX": f"stepline-test-{uuid.uuid4().hex[:8]}",
}


@pytest.fixture
def app_config(database_url: str) -> dict[str, object]:
    """Settings for the test's app; tests may change them before asking for `app`."""
    return {**base_config(database_url), **_RUN_SECRETS}


# Apps built for tests, by their settings. Building one costs ~0.1 s of CPU (mostly werkzeug
# compiling the URL rules) and most tests ask for the same settings, so a later test with equal
# settings gets the same app back, as new: its worker threads stopped, its database emptied,
# its queues and rate-limit counters cleared. Each app has a container of its own (broker, runner,
# database engine), so nothing process-wide needs switching back.
_apps: dict[str, Flask] = {}


def _settings_key(config: dict[str, object]) -> str:
    return json.dumps(config, sort_keys=True, default=repr)


def _reset(app: Flask) -> None:
    stepline = container(app)
    embedded_worker(app).stop()
    stepline.finish_watch.stop()
    stepline.engine.dispose()
    empty_database(app)
    stepline.broker.flush_all()  # what a test left queued never reaches the next one
    stepline.fresh_admission()
    app.extensions["api_limiter"].reset()
    app.extensions["login_limiter"].reset()
    budgets.forget(settings_of(app))  # rate-budget slots of the last test's credentials
    app.extensions.pop(approval_limits.EXTENSION, None)  # the approval page's counters


@pytest.fixture
def app(app_config: dict[str, object]) -> Iterator[Flask]:
    key = _settings_key(app_config)
    app = _apps.get(key)
    if app is None:
        app = _apps[key] = create_app(app_config)
        _reset(app)  # what tests that built apps of their own left in the database and queues
    settings, typed = dict(app.config), settings_of(app)
    yield app
    _reset(app)
    if dict(app.config) != settings or settings_of(app) is not typed:  # changed: not reused
        del _apps[key]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


CSRF_RE = re.compile(
    r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"|"X-CSRFToken": "([^"]+)"'
)


def without_csrf(response: TestResponse) -> str:
    """A page's text with its CSRF tokens blanked: they are signed with the current second, so
    two answers a moment apart differ there and only there."""
    return CSRF_RE.sub("csrf", response.get_data(as_text=True))


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token a page hands out, as a browser would read it."""
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def register(client: FlaskClient, email: str, password: str = PASSWORD, name: str = "") -> None:
    response = client.post(
        "/register",
        data={
            "csrf_token": csrf_token(client, "/register"),
            "email": email,
            "name": name,
            "password": password,
            "confirm": password,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.fixture
def user_client(app: Flask) -> FlaskClient:
    """A client logged in as alice@example.com."""
    client = app.test_client()
    register(client, "alice@example.com")
    return client


@pytest.fixture
def other_client(app: Flask) -> FlaskClient:
    """A client logged in as mallory@example.com, another tenant."""
    client = app.test_client()
    register(client, "mallory@example.com")
    return client


# The example plugin package (tests/plugins) is "installed" by being on the path: its
# handlers reach the registry only through their entry points.
sys.path.insert(0, str(Path(__file__).parent / "plugins"))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest first: the fault suite (real processes, minutes of work), then the browser tests,
    then the rest, so that the parallel workers end together on short tests."""
    here = Path(__file__).parent

    def weight(item: pytest.Item) -> int:
        if item.get_closest_marker("slow"):
            return 0
        return 1 if item.path.is_relative_to(here / "e2e") else 2

    items.sort(key=weight)
