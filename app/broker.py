"""The one place that chooses Dramatiq's broker; every actor module imports it first.

Dramatiq binds actors to the global broker when they are declared, so the worker process
(`dramatiq app.tasks`) must find the right broker when it imports this module: Redis when
REDIS_URL is set, else the in-process StubBroker (the embedded default). This is the one
module that reads the environment at import time, because Dramatiq gives it no other moment.
`install()` lets an app (or a test) switch brokers later; it re-declares our actors on the new
broker.
"""

from __future__ import annotations

import os

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
    ]


def build(redis_url: str | None, namespace: str) -> dramatiq.Broker:
    """A Redis broker in `namespace` when `redis_url` is given, else a StubBroker."""
    if redis_url:
        return RedisBroker(url=redis_url, namespace=namespace, middleware=_middleware())
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
    build(os.environ.get("REDIS_URL") or None, os.environ.get("STEPLINE_QUEUE_PREFIX", "stepline"))
)
