"""An idle worker wakes when a step message is enqueued (app/broker_wake.py), long before its
poll (the worker timeout, 5 s here); the wake list stays bounded; and what comes without a
token (a busy worker's queue, a message a plain Dramatiq broker enqueued) is still picked up by
the fallback poll. Each test has a redis-server of its own, so its client list shows the
worker blocked on the wake list."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, cast

import dramatiq
import pytest
from dramatiq.brokers.redis import RedisBroker

from app import broker as brokers
from app.broker_wake import WAKE_TOKENS, wake_key
from app.settings import Settings
from tests.engine_harness import Engine
from tests.faults.support import wait_until
from tests.redis_server import RedisServer

LONG_POLL_MS = 5000  # the worker timeout: a wake must come far sooner
SOON = 1.0  # seconds: the deadline of a woken pick-up
FIELDS = {"fields": {"x": "1"}}


def _blocked_on_wake_list(server: RedisServer) -> bool:
    clients = cast(list[dict[str, Any]], server.client().client_list())
    return any(c.get("cmd") == "blpop" and "b" in c.get("flags", "") for c in clients)


class Calls:
    """The test actor's calls: counted, each past `gate` (open unless a test closes it)."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, n: int) -> None:
        with self.changed:
            self.count += 1
            self.changed.notify_all()
        assert self.gate.wait(30)

    def reach(self, count: int, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.count >= count, timeout)


@pytest.fixture
def setup(
    redis_server: RedisServer,
) -> Iterator[Callable[..., tuple[dramatiq.Broker, dramatiq.Actor[..., None], Calls]]]:
    """A namespace of this test's own on its redis-server: the app's broker, an actor on the
    step queue counting its calls; workers started through `start` are stopped afterwards."""
    workers: list[dramatiq.Worker] = []

    def make(
        threads: int = 2, timeout_ms: int = LONG_POLL_MS, start: bool = True
    ) -> tuple[dramatiq.Broker, dramatiq.Actor[..., None], Calls]:
        namespace = f"stepline-test-{uuid.uuid4().hex[:10]}"
        broker = brokers.build(Settings(broker_url=redis_server.url, queue_prefix=namespace))
        calls = Calls()
        actor = dramatiq.actor(broker=broker, actor_name="test.wake", queue_name=brokers.QUEUE)(
            calls
        )
        if start:
            worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=timeout_ms)
            worker.start()
            workers.append(worker)
        return broker, actor, calls

    yield make
    for worker in workers:
        worker.stop()


def test_an_idle_worker_picks_up_each_message_long_before_its_poll(
    setup: Callable[..., tuple[dramatiq.Broker, dramatiq.Actor[..., None], Calls]],
    redis_server: RedisServer,
) -> None:
    # Given a worker whose poll comes every 5 s, blocked on the wake list
    _broker, actor, calls = setup()
    for n in range(1, 4):
        wait_until(lambda: _blocked_on_wake_list(redis_server), 10, "the worker to block")

        # When a message is enqueued
        sent = time.monotonic()
        actor.send(n)

        # Then the worker runs it far sooner than its poll would have
        assert calls.reach(n, SOON), f"message {n} not picked up within {SOON} s"
        assert time.monotonic() - sent < SOON


def test_the_wake_list_stays_bounded_under_a_burst_and_empties_at_the_next_fetch(
    setup: Callable[..., tuple[dramatiq.Broker, dramatiq.Actor[..., None], Calls]],
    redis_server: RedisServer,
) -> None:
    # Given no worker running, a burst of messages
    broker, actor, calls = setup(start=False)
    burst = WAKE_TOKENS * 4
    for n in range(burst):
        actor.send(n)
    client = redis_server.client()
    key = wake_key(cast(RedisBroker, broker).namespace, brokers.QUEUE)

    # Then the wake list holds at most WAKE_TOKENS tokens
    assert client.llen(key) == WAKE_TOKENS

    # And a worker that starts runs them all, and its fetches leave no token behind
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=LONG_POLL_MS)
    worker.start()
    try:
        assert calls.reach(burst, 30), f"{calls.count} of {burst} messages ran"
        wait_until(lambda: _blocked_on_wake_list(redis_server), 10, "the worker to block")
        assert client.llen(key) == 0
    finally:
        worker.stop()


def test_a_busy_worker_picks_up_a_message_whose_token_is_gone_at_its_poll(
    setup: Callable[..., tuple[dramatiq.Broker, dramatiq.Actor[..., None], Calls]],
    redis_server: RedisServer,
) -> None:
    # Given a worker of one thread (it prefetches two messages) held busy by its first message
    broker, actor, calls = setup(threads=1, timeout_ms=200)
    calls.gate.clear()
    for n in range(3):
        actor.send(n)
    client = redis_server.client()
    namespace = cast(RedisBroker, broker).namespace
    assert calls.reach(1, 10)
    wait_until(lambda: client.llen(f"{namespace}:{brokers.QUEUE}") == 1, 10, "a prefetch")

    # When the third message's wake token is lost, and the worker's messages end
    client.delete(wake_key(namespace, brokers.QUEUE))
    calls.gate.set()

    # Then the worker's poll still finds the third message
    assert calls.reach(3, 10), f"{calls.count} of 3 messages ran"


def test_a_message_enqueued_without_a_token_is_picked_up_at_the_poll(
    setup: Callable[..., tuple[dramatiq.Broker, dramatiq.Actor[..., None], Calls]],
    redis_server: RedisServer,
) -> None:
    # Given an idle worker polling every 200 ms, blocked on the wake list
    broker, _actor, calls = setup(timeout_ms=200)
    wait_until(lambda: _blocked_on_wake_list(redis_server), 10, "the worker to block")

    # When a plain Dramatiq broker (no wake token) enqueues a message on its queue
    namespace = cast(RedisBroker, broker).namespace
    plain = RedisBroker(url=redis_server.url, namespace=namespace)
    dramatiq.actor(broker=plain, actor_name="test.wake", queue_name=brokers.QUEUE)(
        lambda n: None
    ).send(1)

    # Then the worker's poll runs it
    assert calls.reach(1, 10)


def test_a_dramatiq_worker_process_runs_a_webhook_s_doorbell_long_before_its_poll(
    make_engine: Callable[..., Engine], redis_server: RedisServer
) -> None:
    # Given a `dramatiq app.tasks` worker whose poll comes every 5 s, blocked on the wake list
    engine = make_engine()
    for worker in list(engine.workers):
        engine.stop_worker(worker)
    engine.start_worker(env={"dramatiq_worker_timeout": str(LONG_POLL_MS)})
    workflow_id = engine.workflow(
        {
            "name": "quick",
            "steps": [{"key": "a", "type": "transform", "config": {"fields": {"x": "1"}}}],
        }
    )
    wait_until(lambda: _blocked_on_wake_list(redis_server), 10, "the worker to block")

    # When an execution starts (its doorbell rung)
    sent = time.monotonic()
    execution_id = engine.trigger(workflow_id)

    # Then it completes far sooner than the worker's poll (and recovery's lease)
    (execution,) = engine.wait(execution_id, timeout=2.0)
    assert execution.status == "completed", execution.status
    assert time.monotonic() - sent < 2.0


def test_acks_go_with_the_next_fetch_and_those_left_when_the_worker_stops(
    setup: Callable[..., tuple[dramatiq.Broker, dramatiq.Actor[..., None], Calls]],
    redis_server: RedisServer,
) -> None:
    # Given a worker whose poll comes every 5 s
    broker, actor, calls = setup(start=False)
    client = redis_server.client()
    stored = f"{cast(RedisBroker, broker).namespace}:{brokers.QUEUE}.msgs"  # Dramatiq's

    def held() -> int:  # messages stored and not acked
        return cast(int, client.hlen(stored))

    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=LONG_POLL_MS)
    worker.start()
    try:
        # When messages run one at a time, the worker idling on the wake list between them
        for n in range(1, 4):
            wait_until(lambda: _blocked_on_wake_list(redis_server), 10, "the worker to block")
            actor.send(n)
            assert calls.reach(n, SOON)

        # Then every ended message but the last was acked by the fetch after it (the last
        # one's ack waits for the next fetch: a message or the poll)
        wait_until(lambda: held() <= 1, 10, "the acks to land")
        wait_until(lambda: _blocked_on_wake_list(redis_server), 10, "the worker to block")
        assert held() <= 1
    finally:
        worker.stop()

    # And a worker that stops sends the acks it still holds: no message is left to redeliver
    assert held() == 0
