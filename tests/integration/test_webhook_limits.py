"""A flood on one webhook is refused with 429 while other users' webhooks keep running, and a
deep queue refuses new deliveries (back-pressure) instead of building a silent backlog."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from flask import Flask

from app import create_app
from app.config import build
from app.extensions import container
from app.services.errors import TooManyRequestsError
from app.services.executions.admission import Admission
from tests.engine_harness import REDIS_URL
from tests.hooks_support import close_app, executions_of, make_hook, wait_final


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    # An hour's window: the burst below must not straddle two windows (fixed-window counting)
    return {**app_config, "WEBHOOK_RATE_LIMIT": "5/hour"}


def test_a_flood_on_one_webhook_is_rate_limited_while_others_run(app: Flask) -> None:
    # Given two users' webhooks
    flooded = make_hook(app)
    other = make_hook(app)
    client = app.test_client()

    # When one of them receives 30 requests in a burst, and the other one request after it
    answers = [client.post(flooded.url, json={"n": n}) for n in range(30)]
    bystander = client.post(other.url, json={"hello": "world"})

    # Then the flooded webhook accepted its budget and refused the rest with Retry-After
    statuses = [a.status_code for a in answers]
    assert statuses == [202] * 5 + [429] * 25
    refused = answers[-1]
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    # and the other user's delivery was accepted and ran
    assert bystander.status_code == 202
    (execution,) = wait_final(app, other.workflow_id)
    assert execution.status == "completed"
    assert len(wait_final(app, flooded.workflow_id, 5)) == 5


@pytest.fixture
def idle_app(app_config: dict[str, object]) -> Iterator[Flask]:
    """An app whose worker does not run, so that messages stay in the queue."""
    settings = {"EMBEDDED_WORKER": False, "MAX_QUEUE_DEPTH": 3, "WEBHOOK_RATE_LIMIT": "99/second"}
    app = create_app({**app_config, **settings})
    broker = container(app).broker
    broker.flush_all()
    yield app
    broker.flush_all()
    close_app(app)


def test_a_full_queue_refuses_new_deliveries_with_retry_after(idle_app: Flask) -> None:
    # Given a queue limit of 3 messages, with no worker draining the queue
    ticks = iter(range(1000))
    stepline = container(idle_app)
    stepline.admission = Admission(
        stepline.settings,
        stepline.doorbell.queue_depth,
        clock=lambda: float(next(ticks)),  # no cached depth
    )
    hook = make_hook(idle_app)
    client = idle_app.test_client()

    # When five deliveries arrive
    answers = [client.post(hook.url, json={"n": n}) for n in range(5)]

    # Then three were stored and queued, and the rest were refused until the queue drains
    assert [a.status_code for a in answers] == [202, 202, 202, 429, 429]
    assert answers[3].headers["Retry-After"] == "2"
    assert stepline.doorbell.queue_depth() == 3
    assert len(executions_of(idle_app, hook.workflow_id)) == 3


def test_with_redis_the_limit_is_shared_by_every_web_process() -> None:
    # Given two web processes' admission checks counting in one Redis (a namespace of ours)
    namespace = f"stepline-test-{uuid.uuid4().hex[:10]}"
    settings = {
        "WEBHOOK_RATE_LIMIT": "3/hour",  # the four hits below fall in one window
        "MAX_QUEUE_DEPTH": 1000,
        "REDIS_URL": REDIS_URL,
        "QUEUE_PREFIX": namespace,
    }
    first, second = Admission(build(settings), lambda: 0), Admission(build(settings), lambda: 0)
    try:
        # When one webhook is hit twice through each
        first.check_rate("hook-1")
        second.check_rate("hook-1")
        first.check_rate("hook-1")
        with pytest.raises(TooManyRequestsError) as refused:
            second.check_rate("hook-1")

        # Then the fourth hit is refused wherever it lands; another webhook is unaffected
        assert 1 <= refused.value.retry_after <= 3600
        second.check_rate("hook-2")
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{namespace}:*"))
        assert keys  # the counters lived under our namespace only
        client.delete(*keys)


def test_an_unreachable_counter_store_lets_deliveries_through() -> None:
    settings = {
        "WEBHOOK_RATE_LIMIT": "1/minute",
        "MAX_QUEUE_DEPTH": 1000,
        "REDIS_URL": "redis://127.0.0.1:9/0",
        "QUEUE_PREFIX": "stepline-test-unreachable",
    }
    admission = Admission(build(settings), lambda: 0)

    for _ in range(3):
        admission.check_rate("hook")  # logged, not refused: an outage never drops webhooks
