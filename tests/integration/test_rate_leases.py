"""Webhook rate limits counted in Redis in leases (app/services/executions/rate_leases.py):
processes take several hits of a window at once; no window ever admits more than its limit,
and a lease ends with its window."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import cast

import pytest
import redis
from limits import parse

from app.services.executions.rate_leases import LeasedWindows, lease_size
from tests.engine_harness import REDIS_URL


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(REDIS_URL)
    yield connection
    connection.close()


@pytest.fixture
def prefix(client: redis.Redis) -> Iterator[str]:
    name = f"test-leases-{uuid.uuid4().hex}"
    yield name
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)


def _counter(client: redis.Redis, prefix: str, limit: str, scope: str) -> int:
    value = client.get(f"{prefix}:{parse(limit).key_for('webhook', scope)}")
    return int(cast(bytes, value) or 0)


def test_a_process_asks_redis_once_per_lease_and_admits_exactly_its_limit(
    client: redis.Redis, prefix: str
) -> None:
    # Given a limit of 100 an hour (leases of 3) counted by one process
    item = parse("100/hour")
    windows = LeasedWindows(client, prefix)
    assert lease_size(item) == 3

    # When 10 requests come: 4 leases were taken (3 + 3 + 3 + 3 counted, 10 spent)
    assert [windows.hit(item, "7") for _ in range(10)] == [None] * 10
    assert _counter(client, prefix, "100/hour", "7") == 12

    # and 100 more: the 100th request of the window is the last admitted
    verdicts = [windows.hit(item, "7") for _ in range(100)]
    assert verdicts[:90] == [None] * 90
    refusals = verdicts[90:]
    assert all(wait is not None and 3590 < wait <= 3600 for wait in refusals)
    assert _counter(client, prefix, "100/hour", "7") == 100


def test_processes_sharing_a_window_never_admit_more_than_its_limit(
    client: redis.Redis, prefix: str
) -> None:
    # Given two processes (two lease holders) and a limit of 200 an hour (leases of 6)
    item = parse("200/hour")
    first, second = LeasedWindows(client, prefix), LeasedWindows(client, prefix)

    # When they take turns at 300 requests to one webhook
    admitted = sum((first if n % 2 else second).hit(item, "9") is None for n in range(300))

    # Then no more than the limit was admitted, and what the other held unspent at most less
    assert 200 - (lease_size(item) - 1) <= admitted <= 200
    assert _counter(client, prefix, "200/hour", "9") == 200


def test_threads_of_one_process_never_admit_more_than_the_limit(
    client: redis.Redis, prefix: str
) -> None:
    item = parse("320/hour")
    windows = LeasedWindows(client, prefix)
    admitted: list[bool] = []
    lock = threading.Lock()

    def send() -> None:
        for _ in range(60):
            verdict = windows.hit(item, "3") is None
            with lock:
                admitted.append(verdict)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(admitted) == 480
    assert sum(admitted) <= 320
    assert _counter(client, prefix, "320/hour", "3") == 320


def test_a_lease_is_not_spent_after_its_window_ends(client: redis.Redis, prefix: str) -> None:
    # Given a lease of 10 hits taken from a window of an hour
    now = [0.0]
    item = parse("320/hour")
    windows = LeasedWindows(client, prefix, clock=lambda: now[0])
    assert windows.hit(item, "5") is None
    assert _counter(client, prefix, "320/hour", "5") == 10

    # When the process's clock passes the window's end (as Redis measured it at the lease)
    now[0] = 3601.0

    # Then the next hit does not spend the old lease: it asks Redis again
    assert windows.hit(item, "5") is None
    assert _counter(client, prefix, "320/hour", "5") == 20


def test_each_webhook_has_its_own_window(client: redis.Redis, prefix: str) -> None:
    item = parse("2/hour")
    windows = LeasedWindows(client, prefix)
    assert [windows.hit(item, "1") is None for _ in range(3)] == [True, True, False]
    assert windows.hit(item, "2") is None
