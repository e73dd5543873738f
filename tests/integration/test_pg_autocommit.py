"""app.models.pg_autocommit on PostgreSQL: statements straight to psycopg keep SQLAlchemy's
pooling and error contract (autocommit, pooled connections, a lost connection is a DBAPIError marked
invalidated and the pool is renewed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import (
    Engine,
    Integer,
    String,
    bindparam,
    column,
    create_engine,
    func,
    select,
    table,
)
from sqlalchemy.exc import DBAPIError

from app.models import pg_autocommit
from tests.conftest import _pg_admin, create_database, drop_database

APP_NAME = "stepline-pg-autocommit-test"
ONE = pg_autocommit.prepare("SELECT 1 AS one")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = create_database("postgresql", tmp_path)
    engine = create_engine(url, pool_size=3, connect_args={"application_name": APP_NAME})
    yield engine
    engine.dispose()
    drop_database(url)


def _backends(engine: Engine) -> int:
    database = engine.url.database
    with _pg_admin() as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
            (database, APP_NAME),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_statement_commits_by_itself_and_returns_named_fields(engine: Engine) -> None:
    with pg_autocommit.cursor(engine) as cursor:
        cursor.execute("CREATE TABLE t (id serial PRIMARY KEY, name text)")
    insert = "INSERT INTO t (name) VALUES (%(name)s) RETURNING id, name"
    row = pg_autocommit.one(engine, pg_autocommit.prepare(insert), {"name": "a"})
    assert (row.id, row.name) == (1, "a")
    by_id = pg_autocommit.prepare("SELECT name FROM t WHERE id = %(id)s")
    assert pg_autocommit.one(engine, by_id, {"id": 9}) is None

    # and the connection goes back to the pool as SQLAlchemy hands it out: transactional
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 1
        connection.exec_driver_sql("INSERT INTO t (name) VALUES ('rolled back')")
        connection.rollback()
    assert (
        pg_autocommit.one(engine, pg_autocommit.prepare("SELECT count(*) AS n FROM t"), {}).n == 1
    )
    assert _backends(engine) == 1  # one pooled connection served all of it


def test_a_failed_statement_is_a_dbapi_error_and_the_connection_stays(engine: Engine) -> None:
    with pytest.raises(DBAPIError) as raised:
        pg_autocommit.one(engine, pg_autocommit.prepare("SELECT 1 / 0"), {})
    assert not raised.value.connection_invalidated
    assert pg_autocommit.one(engine, pg_autocommit.prepare("SELECT 2 AS two"), {}).two == 2


def test_connections_cut_under_the_pool_are_replaced(engine: Engine) -> None:
    # Given pooled connections, all of which the server then terminates
    with engine.connect(), engine.connect():
        pass
    assert pg_autocommit.one(engine, ONE, {}).one == 1
    with _pg_admin() as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (APP_NAME,),
        )

    # When a statement runs: it fails as a lost connection (callers retry on that)
    with pytest.raises(DBAPIError) as raised:
        pg_autocommit.one(engine, ONE, {})
    assert raised.value.connection_invalidated

    # Then the next statements get fresh connections, not the other dead ones of the pool
    assert [pg_autocommit.one(engine, ONE, {}).one for _ in range(3)] == [1, 1, 1]


def test_no_connection_to_be_had_is_a_dbapi_error_marked_lost() -> None:
    engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=2")
    with pytest.raises(DBAPIError) as raised:
        pg_autocommit.one(engine, pg_autocommit.prepare("SELECT 1"), {})
    assert raised.value.connection_invalidated


def test_a_core_statement_runs_with_its_own_literals_and_the_callers_parameters(
    engine: Engine,
) -> None:
    numbers = table("numbers", column("n", Integer), column("kind", String))
    with pg_autocommit.cursor(engine) as cursor:
        cursor.execute("CREATE TABLE numbers (n integer, kind text)")
        cursor.execute("INSERT INTO numbers VALUES (1, 'odd'), (2, 'even'), (3, 'odd')")
    odd_above = pg_autocommit.prepare(
        select(func.count().label("n"))
        .select_from(numbers)
        .where(numbers.c.kind == "odd", numbers.c.n > bindparam("above"))
    )
    assert pg_autocommit.one(engine, odd_above, {"above": 1}).n == 1
    assert pg_autocommit.one(engine, odd_above, {"above": 0}).n == 2
    with pytest.raises(ValueError, match="expanding IN"):
        pg_autocommit.prepare(select(numbers.c.n).where(numbers.c.kind.in_(["odd", "even"])))
