"""The process's engine runtime: database sessions, secrets, settings and the runner.

The web app installs one in create_app; a `dramatiq app.tasks` worker process builds its own
from the environment on first use. Nothing here imports Flask.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from app import config
from app.crypto import SecretBox
from app.engine import registry
from app.engine.runner import Runner, Send
from app.settings import Settings


@dataclass
class Runtime:
    settings: Settings = field(repr=False)
    engine: Engine
    session_factory: Callable[[], Session]
    secrets: SecretBox
    runner: Runner


_current: Runtime | None = None
_lock = threading.Lock()


def engine_for(settings: Settings) -> Engine:
    """The engine the runner uses. No pre-ping on checkout (it would cost a round trip per
    transaction on the hot path): a connection found dead fails its statement, the pool
    drops its connections, and the runner retries the transaction once."""
    url = settings["SQLALCHEMY_DATABASE_URI"]
    threads = int(settings["WORKER_THREADS"])
    if url.startswith("sqlite"):
        return create_engine(url)
    options = f"-c synchronous_commit={settings['RUNNER_SYNCHRONOUS_COMMIT']}"
    return create_engine(
        url,
        pool_size=max(threads, 5),
        max_overflow=10,
        pool_recycle=3600,
        connect_args={"options": options},
    )


def build(settings: Settings, engine: Engine, send: Send | None = None) -> Runtime:
    """Assemble a runtime around an existing SQLAlchemy engine."""
    if send is None:
        from app.tasks import send_step

        send = send_step
    session_factory = sessionmaker(bind=engine, expire_on_commit=False)
    secrets = SecretBox(settings["SECRET_KEYS"])
    runner = Runner(
        session_factory,
        send,
        actions=registry.actions(),
        secrets=secrets,
        settings=settings,
        time_slice=float(settings["TIME_SLICE_SECONDS"]),
    )
    return Runtime(settings, engine, session_factory, secrets, runner)


def install(runtime: Runtime) -> Runtime:
    global _current
    with _lock:
        _current = runtime
    return runtime


def get() -> Runtime:
    """The installed runtime, or one built from the environment (worker processes)."""
    global _current
    with _lock:
        if _current is None:
            instance = os.environ.get(
                "STEPLINE_INSTANCE_PATH", os.path.join(os.getcwd(), "instance")
            )
            settings = config.load(instance)
            _current = build(settings, engine_for(settings))
        return _current
