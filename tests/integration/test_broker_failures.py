"""A message whose actor raises: no exception text in its options, no dead letter kept.

Dramatiq's Retries middleware copies the traceback (exception text included, which may carry
data or secrets) into the message's options and moves a failed message to the dead-letter set
Redis keeps for a week; app.broker drops such a message after logging its ids instead.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
import redis
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from app import broker as brokers
from app.settings import Settings
from tests import rabbitmq
from tests.engine_harness import REDIS_URL

SECRET = "token=s3cr3t-" + uuid.uuid4().hex


class Seen(dramatiq.Middleware):
    """Records each message as it is acknowledged or rejected (after every other hook)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.done = threading.Event()

    def before_ack(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        self.messages.append(("ack", dict(message.options)))
        self.done.set()

    def before_nack(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        self.messages.append(("nack", dict(message.options)))
        self.done.set()


NAMESPACE = f"stepline-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["stub", "redis", "rabbitmq"])
def broker(request: pytest.FixtureRequest) -> Iterator[dramatiq.Broker]:
    namespace = NAMESPACE
    url = {"stub": None, "redis": REDIS_URL, "rabbitmq": rabbitmq.RABBITMQ_URL}[request.param]
    built = brokers.build(Settings(broker_url=url, queue_prefix=namespace))
    yield built
    if isinstance(built, RabbitmqBroker):
        built.close()
        rabbitmq.delete(namespace)
    if isinstance(built, RedisBroker):
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{namespace}:*"))
        if keys:
            client.delete(*keys)
        built.close()


def test_a_failing_actor_leaves_no_exception_text_and_no_dead_letter(
    broker: dramatiq.Broker,
) -> None:
    # Given the step actor's broker, with an actor whose exception carries a secret
    seen = Seen()
    broker.add_middleware(seen)

    def leaky(execution_id: int) -> None:
        raise RuntimeError(f"could not reach https://api.example.com/?{SECRET}")

    queue = brokers.queue_name(broker, NAMESPACE)
    actor = dramatiq.actor(broker=broker, actor_name="test.leaky", queue_name=queue)(leaky)

    # When a message for it is processed by a worker
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        message = actor.send(7)
        assert seen.done.wait(10), "the message was never processed"
    finally:
        worker.stop()

    # Then the message was acknowledged (not dead-lettered), its options hold no traceback
    # and no exception text
    (outcome, options) = seen.messages[0]
    assert outcome == "ack"
    assert "traceback" not in options
    assert SECRET not in json.dumps(options, default=str)
    # And nothing of it is kept: no dead letter in process, nothing in Redis at all
    if isinstance(broker, StubBroker):
        assert broker.dead_letters == []
    elif isinstance(broker, RabbitmqBroker):
        assert rabbitmq.ready_counts(NAMESPACE)[f"{queue}.XQ"] == 0
    else:
        assert isinstance(broker, RedisBroker)
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{broker.namespace}:*"))
        stored = b"".join(
            json.dumps(client.hgetall(key), default=repr).encode()
            for key in keys
            if client.type(key) == b"hash"
        )
        assert SECRET.encode() not in stored
        assert message.message_id.encode() not in stored
        assert client.zcard(f"{broker.namespace}:{brokers.QUEUE}.XQ") == 0
