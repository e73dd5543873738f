"""PostgreSQL statements in autocommit mode, sent straight to psycopg.

A webhook delivery and each message of the runner run one or two fixed statements. Through
SQLAlchemy each costs about twice the CPU of the statement itself (execution context, result
wrapping, session bookkeeping), so those few go to psycopg directly: on a connection of the
engine's pool (`Engine.raw_connection()`, public API), in autocommit mode (each is one atomic
statement). A statement is either built with SQLAlchemy Core (the same object the portable path
executes, compiled here once) or written as PostgreSQL text with `%(name)s` parameters where it
has no portable twin.

Errors keep SQLAlchemy's shape: a driver error is raised as the matching `DBAPIError`, with
`connection_invalidated` set (and the pool renewed) when the connection was lost, so the
callers' "database unavailable" and "retry on a fresh connection" paths apply.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import ClauseElement, Engine
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

_DIALECT = PGDialect_psycopg()


@dataclass(frozen=True)
class Statement:
    """SQL text for psycopg, and the values of the parameters the statement carries itself
    (a Core statement's literals, such as a status it matches)."""

    sql: str
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def execute(self, cursor: psycopg.Cursor[Any], params: Mapping[str, Any]) -> Any:
        return cursor.execute(self.sql, {**self.defaults, **params} if self.defaults else params)


def prepare(statement: ClauseElement | str) -> Statement:
    """Compile a Core statement for psycopg once (its parameters are given at each call), or
    take PostgreSQL text as it is. Built at import: compiling costs more than running."""
    if isinstance(statement, str):
        return Statement(statement)
    compiled = statement.compile(dialect=_DIALECT)
    if "__[POSTCOMPILE_" in compiled.string:
        raise ValueError("expanding IN parameters are not supported here; spell them out")
    return Statement(compiled.string, dict(compiled.params))


def supports(engine: Engine) -> bool:
    """Whether statements on `engine` can take this path (PostgreSQL via psycopg)."""
    return engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"


def engine_of(session: Session) -> Engine | None:
    """The session's engine when its statements can take this path."""
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) and supports(bind) else None


@contextmanager
def cursor(engine: Engine) -> Iterator[psycopg.Cursor[Any]]:
    """A cursor in autocommit mode on a pooled connection, whose rows have named fields."""
    try:
        pooled = engine.raw_connection()
    except psycopg.Error as exc:  # no connection to be had (SQLAlchemy's connect() wraps it so)
        raise DBAPIError.instance(
            None, None, exc, psycopg.Error, connection_invalidated=True
        ) from exc
    connection: psycopg.Connection[Any] = pooled.driver_connection  # type: ignore[assignment]
    lost = False
    try:
        connection.autocommit = True
        with connection.cursor(row_factory=namedtuple_row) as opened:
            yield opened
    except psycopg.Error as exc:
        lost = connection.broken or connection.closed
        if lost:
            # As SQLAlchemy does on a disconnect: this connection is dropped and the pool's
            # others are replaced (a server restart or a cut killed them all). Engine.dispose
            # is the public way to it: checked-in connections close and a fresh pool takes
            # over; connections checked out now go back to the old pool and die with it.
            pooled.invalidate(exc)
            engine.dispose()
        raise DBAPIError.instance(
            None, None, exc, psycopg.Error, connection_invalidated=lost
        ) from exc
    finally:
        try:
            if not lost:
                connection.autocommit = False  # as the pool hands it out
        except psycopg.Error as exc:
            pooled.invalidate(exc)
        pooled.close()


def one(engine: Engine, statement: Statement, params: Mapping[str, Any]) -> Any:
    """The first row of `statement` (a named tuple), or None."""
    with cursor(engine) as opened:
        return statement.execute(opened, params).fetchone()
