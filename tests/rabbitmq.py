"""RabbitMQ for tests: the server on this machine (127.0.0.1:5672, guest/guest; another with
STEPLINE_TEST_RABBITMQ). Each test names its queues with a prefix of its own
(STEPLINE_QUEUE_PREFIX) and deletes them after, so tests never see one another's messages."""

from __future__ import annotations

import os

import pika
import pika.exceptions
import pytest

RABBITMQ_URL = os.environ.get("STEPLINE_TEST_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672/%2F")


def step_queues(prefix: str) -> list[str]:
    """The step queue of a queue prefix, its delay queue and its dead-letter queue."""
    queue = f"{prefix}.steps"
    return [queue, f"{queue}.DQ", f"{queue}.XQ"]


def connection(url: str = RABBITMQ_URL) -> pika.BlockingConnection:
    try:
        return pika.BlockingConnection(pika.URLParameters(url))
    except pika.exceptions.AMQPError as exc:  # CI must see this as a failure, never a skip
        pytest.fail(f"RabbitMQ is not reachable at {url}: {type(exc).__name__} {exc}")


def ready_counts(prefix: str, url: str = RABBITMQ_URL) -> dict[str, int]:
    """Ready messages of each existing step queue of `prefix` (a missing queue is left out)."""
    counts = {}
    with connection(url) as conn:
        for name in step_queues(prefix):
            channel = conn.channel()
            try:
                counts[name] = channel.queue_declare(name, passive=True).method.message_count
                channel.close()
            except pika.exceptions.ChannelClosedByBroker:  # 404: not declared
                continue
    return counts


def purge(prefix: str, url: str = RABBITMQ_URL) -> int:
    """Drop every ready message of the step queues of `prefix`; returns how many."""
    dropped = 0
    with connection(url) as conn:
        channel = conn.channel()
        for name in step_queues(prefix):
            dropped += channel.queue_purge(name).method.message_count
    return dropped


def delete(prefix: str, url: str = RABBITMQ_URL) -> None:
    """Delete the step queues of `prefix` (those that exist), messages included."""
    with connection(url) as conn:
        channel = conn.channel()
        for name in step_queues(prefix):
            channel.queue_delete(name)
