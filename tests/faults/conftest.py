"""Fixtures of the fault suite: each test owns a PostgreSQL database, a redis-server on a free
port, and the worker and scheduler processes of its engine (tests/engine_harness.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from app.models import Base
from tests.conftest import create_database, drop_database
from tests.engine_harness import Engine
from tests.redis_server import RedisServer

LEASE = 3  # seconds: recovery takes over a dead worker's step after this long
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every fault test starts real processes: marked `slow` (`-m "not slow"` leaves them)."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def fault_database(tmp_path: Path) -> Iterator[str]:
    """An empty PostgreSQL database of this test's own, with the app's tables."""
    url = create_database("postgresql", tmp_path)
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    yield url
    drop_database(url)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own (no persistence unless a test asks for it)."""
    server = RedisServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def make_engine(
    fault_database: str, redis_server: RedisServer, tmp_path: Path
) -> Iterator[Callable[..., Engine]]:
    """Start an engine on this test's database and Redis: an app in the test process, one
    `dramatiq app.tasks` worker and one `flask scheduler` (closed after the test)."""
    engines: list[Engine] = []

    def make(**settings: Any) -> Engine:
        settings.setdefault("lease", LEASE)
        engine = Engine(
            "postgresql",
            fault_database,
            tmp_path,
            mode="redis",
            redis_url=redis_server.url,
            **settings,
        )
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close()
