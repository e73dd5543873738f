"""SQLite connection pragmas: foreign keys enforced, WAL, a busy timeout.

SQLite enforces foreign keys only when asked, per connection; WAL lets readers and the worker's
writer proceed together. `install()` listens on every engine's new connections (a PostgreSQL
connection is left alone); calling it again adds nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def install() -> None:
    """Set the pragmas on each new SQLite connection of any engine."""
    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)
