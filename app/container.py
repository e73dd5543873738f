"""The composition root: one object that holds what the engine and the services work with.

`create_app` builds one for the web app, `app.tasks` one for a `dramatiq app.tasks` worker
process, and `flask scheduler` uses its app's. Everything below it receives what it needs
from here as arguments (a session factory, the registries, the secret box, the doorbell);
nothing fetches it from a module global. Tests build as many as they like side by side: each
has its own database engine, broker and runner. Nothing here imports Flask.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta

import dramatiq
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from app import broker as brokers
from app import config
from app.actions import BUILTIN_ACTIONS
from app.crypto import SecretBox
from app.engine.registry import ActionRegistry, Handlers, TriggerRegistry
from app.engine.runner import Runner
from app.services.executions.admission import Admission
from app.services.executions.children import ChildStarter
from app.services.executions.finish_watch import FinishWatch
from app.services.executions.parent_resume import ParentResume
from app.settings import Settings
from app.triggers import BUILTIN_TRIGGERS

# Connections the runner's pool keeps open once used. A connection returned while the pool
# holds this many is closed, so a worker with more threads than this opened (and PostgreSQL
# forked a backend for, with cold caches and statements to prepare again) a connection for
# most of its messages: with dramatiq's 8 threads and a pool of 5, that doubled PostgreSQL's
# CPU per execution. Connections are opened only when used: this is not a floor.
POOL_KEPT = 16


def engine_for(settings: Settings) -> Engine:
    """The engine the runner uses. No pre-ping on checkout (it would cost a round trip per
    transaction on the hot path): a connection found dead fails its statement, the pool
    drops its connections, and the runner retries the transaction once."""
    url = settings.database_url
    if url.startswith("sqlite"):
        return create_engine(url)
    options = f"-c synchronous_commit={settings.runner_synchronous_commit}"
    return create_engine(
        url,
        pool_size=max(settings.worker_threads, POOL_KEPT),
        max_overflow=10,
        pool_recycle=3600,
        connect_args={"options": options},
    )


@dataclass
class Container:
    """Settings, database, secrets, handler registries, the doorbell and the runner of one app
    (or one worker process). Build it with `Container.build`."""

    settings: Settings = field(repr=False)
    engine: Engine
    session_factory: sessionmaker[Session]
    secrets: SecretBox = field(repr=False)
    handlers: Handlers
    doorbell: brokers.Doorbell
    runner: Runner
    # Webhook rate limits and queue back-pressure of this app's ingress (counters start at 0).
    admission: Admission
    # Wait-mode webhooks: the process's listener for finished executions (started on first use).
    finish_watch: FinishWatch

    @classmethod
    def build(cls, settings: Settings, engine: Engine | None = None) -> Container:
        """Assemble everything from `settings`, on `engine` when given (else a new one).

        Declares `stepline.run_step` on a broker of its own, bound to this runner."""
        engine = engine or engine_for(settings)
        session_factory = sessionmaker(bind=engine, expire_on_commit=False)
        secrets = SecretBox(settings.secret_keys_value)
        handlers = Handlers(
            actions=ActionRegistry.with_plugins(BUILTIN_ACTIONS),
            triggers=TriggerRegistry.with_plugins(BUILTIN_TRIGGERS),
            max_loop_items=settings.max_loop_items,
        )
        doorbell = brokers.Doorbell(
            brokers.build(settings),
            settings.queue_prefix,
            brokers.message_time_limit_ms(settings),
        )
        lease = timedelta(seconds=settings.execution_lease_seconds)
        runner = Runner(
            session_factory,
            doorbell.send,
            secrets=secrets,
            settings=settings,
            actions=handlers.actions,
            time_slice=settings.time_slice_seconds,
            watchdog=doorbell.allow,
            # run_workflow: child runs are started, and their ends resume their parents, by
            # the services (the engine never imports them).
            children=ChildStarter(session_factory, doorbell.send, settings),
            message_ended=ParentResume(engine, doorbell.send, lease),
        )
        doorbell.answer(runner.run)
        admission = Admission(settings, doorbell.queue_depth)
        watch = FinishWatch(engine)
        return cls(
            settings, engine, session_factory, secrets, handlers, doorbell, runner, admission, watch
        )

    @classmethod
    def from_environment(cls) -> Container:
        """The container of a process that has no Flask app (a `dramatiq app.tasks` worker):
        settings from the environment and STEPLINE_INSTANCE_PATH (default ./instance)."""
        instance = os.environ.get("STEPLINE_INSTANCE_PATH", os.path.join(os.getcwd(), "instance"))
        return cls.build(config.load(instance))

    @property
    def broker(self) -> dramatiq.Broker:
        return self.doorbell.broker

    def fresh_admission(self) -> Admission:
        """Start the ingress counters again from zero (tests reuse one app across tests)."""
        self.admission = Admission(self.settings, self.doorbell.queue_depth)
        return self.admission
