"""The one place that chooses Dramatiq's broker; every actor module imports it first.

Dramatiq binds actors to the global broker when they are declared, so the worker process
(`dramatiq app.tasks`) must find the right broker when it imports this module: Redis when
REDIS_URL is set, else the in-process StubBroker (the embedded default). This is the one
module that reads the environment at import time, because Dramatiq gives it no other moment.
`install()` lets an app (or a test) switch brokers later; it re-declares our actors on the new
broker.

Two Redis-broker knobs come from the environment of worker processes: Dramatiq moves the
unacknowledged messages of a worker that stopped heartbeating back to the queue only after
STEPLINE_BROKER_HEARTBEAT_TIMEOUT milliseconds (Dramatiq's default: 60000), and only during a
maintenance pass that runs on STEPLINE_BROKER_MAINTENANCE_CHANCE commands out of a million
(default: 1000). The engine does not depend on either (recovery re-sends after the lease); the
fault tests shorten both to make Dramatiq redeliver at once, as Dramatiq's own tests do.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from app.logs import LogsMiddleware

QUEUE = "steps"


def _middleware() -> list[dramatiq.Middleware]:
    # Retries with a limit of 0: the engine owns retries; a message whose actor raised (the
    # database was down, say) is dropped and recovery re-sends it after the lease.
    return [
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(max_retries=0),
        LogsMiddleware(),
    ]


def redis_options(env: Mapping[str, str]) -> dict[str, Any]:
    """RedisBroker keyword arguments from STEPLINE_BROKER_* variables (see the docstring)."""
    options: dict[str, Any] = {}
    for name, option in (
        ("STEPLINE_BROKER_HEARTBEAT_TIMEOUT", "heartbeat_timeout"),
        ("STEPLINE_BROKER_MAINTENANCE_CHANCE", "maintenance_chance"),
    ):
        if env.get(name):
            try:
                options[option] = int(env[name])
            except ValueError:
                raise RuntimeError(f"{name} must be an integer, got {env[name]!r}") from None
    return options


def build(redis_url: str | None, namespace: str) -> dramatiq.Broker:
    """A Redis broker in `namespace` when `redis_url` is given, else a StubBroker."""
    if redis_url:
        return RedisBroker(
            url=redis_url,
            namespace=namespace,
            middleware=_middleware(),
            **redis_options(os.environ),
        )
    return StubBroker(middleware=_middleware())


def install(redis_url: str | None, namespace: str) -> dramatiq.Broker:
    """Make a new broker the global one and declare every actor on it."""
    broker = build(redis_url, namespace)
    dramatiq.set_broker(broker)
    from app import tasks  # our actors; importing them declares them on `broker` the first time

    for actor in tasks.ACTORS:
        actor.broker = broker
        broker.declare_actor(actor)
    return broker


def matches(broker: dramatiq.Broker, redis_url: str | None, namespace: str) -> bool:
    if redis_url:
        return isinstance(broker, RedisBroker) and broker.namespace == namespace
    return isinstance(broker, StubBroker)


dramatiq.set_broker(
    build(
        os.environ.get("REDIS_URL") or None, os.environ.get("STEPLINE_QUEUE_PREFIX") or "stepline"
    )
)
