"""With the database unavailable a webhook answers 503 (never 2xx), so the sender retries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade

from app import create_app
from app.extensions import container, db
from tests.conftest import _pg_admin, base_config, create_database, drop_database
from tests.hooks_support import executions_of, make_hook


def test_an_unreachable_database_is_503(tmp_path: Path) -> None:
    # Given an app whose database server does not answer
    url = "postgresql+psycopg://postgres@127.0.0.1:9/stepline?connect_timeout=2"
    app = create_app({**base_config(url), "EMBEDDED_WORKER": False})

    # When a delivery arrives
    response = app.test_client().post("/hooks/" + "a" * 43, json={"x": 1})

    # Then it is refused with 503 and Retry-After: the sender will try again
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json()["error"]["code"] == "unavailable"
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    url = create_database("postgresql", tmp_path)
    app = create_app({**base_config(url), "EMBEDDED_WORKER": False})
    with app.app_context():
        upgrade()
    yield app, url
    with app.app_context():
        db.engine.dispose()
    container(app).engine.dispose()
    drop_database(url)


def test_a_database_that_goes_away_is_503(own_database: tuple[Flask, str]) -> None:
    # Given a working webhook on a PostgreSQL database of this test's own
    app, url = own_database
    hook = make_hook(app)
    client = app.test_client()
    assert client.post(hook.url, json={"before": True}).status_code == 202

    # When the database is dropped (its connections terminated) under the running app
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')

    # Then deliveries are refused with 503, not accepted and lost
    answers = [client.post(hook.url, json={"during": n}) for n in range(3)]
    assert [a.status_code for a in answers] == [503, 503, 503]


# A database that refuses to store steps (a trigger raising on insert: a full disk, a lost
# standby), so that the execution's write fails halfway.
_REFUSE = {
    "postgresql": [
        "CREATE FUNCTION refuse_steps() RETURNS trigger LANGUAGE plpgsql"
        " AS $$ BEGIN RAISE EXCEPTION 'could not extend file: no space left'; END $$",
        "CREATE TRIGGER refuse_steps BEFORE INSERT ON execution_steps"
        " FOR EACH ROW EXECUTE FUNCTION refuse_steps()",
    ],
    "sqlite": [
        "CREATE TRIGGER refuse_steps BEFORE INSERT ON execution_steps"
        " BEGIN SELECT RAISE(ABORT, 'no space left'); END",
    ],
}
_ALLOW = {
    "postgresql": ["DROP TRIGGER refuse_steps ON execution_steps", "DROP FUNCTION refuse_steps()"],
    "sqlite": ["DROP TRIGGER refuse_steps"],
}


def _run_ddl(app: Flask, statements: list[str]) -> None:
    with app.app_context(), db.engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)


def test_a_write_that_fails_is_503_and_stores_nothing(app: Flask, backend: str) -> None:
    # Given a webhook, and a database that fails while the execution is being written
    hook = make_hook(app)
    client = app.test_client()
    _run_ddl(app, _REFUSE[backend])
    try:
        # When a delivery arrives
        response = client.post(hook.url, json={"x": 1})
    finally:
        _run_ddl(app, _ALLOW[backend])

    # Then it is refused with 503 and nothing of it is stored; the next delivery goes through
    assert response.status_code == 503
    assert "no space" not in response.get_data(as_text=True)
    assert executions_of(app, hook.workflow_id) == []
    assert client.post(hook.url, json={"x": 2}).status_code == 202
