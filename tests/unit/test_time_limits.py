"""Time limits as rules (app.engine.time_limits), the step's deadline on the guarded client's
I/O (app.net.deadline.step_limit) and Dramatiq's time limit reset step by step
(app.broker.StepTimeLimit)."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware.time_limit import TimeLimitExceeded

from app import broker as brokers
from app.engine import time_limits
from app.net import GuardedClient, OutboundPolicy, OutboundTimeoutError
from app.net.deadline import step_limit
from app.settings import Settings
from tests.fakes.http import FakeServer, Reply

LOCAL = OutboundPolicy.parse(["127.0.0.1/32"])


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


def test_a_steps_own_limit_wins_over_the_workflows_which_wins_over_the_engines() -> None:
    own = {"key": "a", "retry": {"attempts": 2, "timeout_seconds": 30}}
    plain = {"key": "b", "retry": {"attempts": 2}}
    workflow = {"step_time_limit_seconds": 120}

    assert time_limits.step_limit(own, workflow, 900) == 30
    assert time_limits.step_limit(plain, workflow, 900) == 120
    assert time_limits.step_limit({"key": "c", "retry": None}, {}, 900) == 900


def test_the_grace_is_a_tenth_of_the_limit_between_two_seconds_and_a_minute() -> None:
    assert time_limits.grace(1) == 2
    assert time_limits.grace(300) == 30
    assert time_limits.grace(86400) == 60


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (30, "30 s"),
        (900, "15 min"),
        (7200, "2 h"),
        (5400, "1 h 30 min"),
        (86400, "1 day"),
        (3 * 86400 + 60, "3 days 1 min"),
        (0.5, "0.5 s"),
    ],
)
def test_a_limit_reads_in_words(seconds: float, text: str) -> None:
    assert time_limits.duration_text(seconds) == text


def test_a_runs_deadline_is_its_creation_plus_its_limit_and_none_without_one() -> None:
    created = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    limited = {"workflow": {"settings": {"time_limit_seconds": 7200}}}

    assert time_limits.run_deadline(limited, created) == created + timedelta(hours=2)
    assert time_limits.run_deadline({"workflow": {"settings": {}}}, created) is None
    assert time_limits.run_deadline({"workflow": {}}, created) is None  # older snapshots


def test_inside_a_step_an_exchange_ends_by_the_steps_deadline(server: FakeServer) -> None:
    # Given a server that answers after 5 s, and a client whose own timeout is 5 s
    server.on("GET", "/slow", dataclasses.replace(Reply.json({"ok": True}), delay=5))
    client = GuardedClient(LOCAL, timeout=5)
    started = time.monotonic()

    # When the request is made inside a step allowed 0.5 s
    with step_limit(0.5), pytest.raises(OutboundTimeoutError) as caught:
        client.request("GET", server.url("/slow"))

    # Then it ends at the step's deadline, saying so, and may be retried
    assert time.monotonic() - started < 3
    assert "the step's time limit of 0.5 s ran out" in str(caught.value)
    assert caught.value.retryable


def test_a_request_after_the_steps_time_is_up_is_not_sent(server: FakeServer) -> None:
    server.on("GET", "/x", Reply.json({"ok": True}))
    client = GuardedClient(LOCAL, timeout=5)

    with step_limit(0.01):
        time.sleep(0.05)
        with pytest.raises(OutboundTimeoutError, match="ran out before the request"):
            client.request("GET", server.url("/x"))

    assert server.requests == []
    assert client.request("GET", server.url("/x")).status == 200  # outside a step: its own


def test_the_step_actors_time_limit_comes_from_the_settings() -> None:
    settings = Settings.model_validate({"step_time_limit": 120})

    assert brokers.message_time_limit_ms(settings) == (120 + 12) * 1000
    assert brokers.message_time_limit_ms(Settings()) == (900 + 60) * 1000


def test_each_step_resets_the_time_its_message_may_still_run() -> None:
    # Given a broker whose TimeLimit is the step one, booted, and an actor whose "step"
    # allows itself 0.3 s, then runs for up to 5 s
    middleware = brokers.StepTimeLimit(time_limit=60_000)
    broker = StubBroker(middleware=[middleware])
    broker.emit_after("process_boot")
    ended: list[str] = []
    outside = threading.get_ident()

    @dramatiq.actor(broker=broker, actor_name="test.slow_step", time_limit=60_000)
    def slow_step() -> None:
        middleware.allow(0.3)
        try:
            for _ in range(100):
                time.sleep(0.05)
            ended.append("ran to its end")
        except TimeLimitExceeded:
            ended.append("interrupted")
            raise

    # When it runs on a worker
    worker = dramatiq.Worker(broker, worker_timeout=50)
    worker.start()
    try:
        started = time.monotonic()
        slow_step.send()
        broker.join(slow_step.queue_name)
        worker.join()
    finally:
        worker.stop()

    # Then Dramatiq interrupted it past the step's allowance, not the actor's minute
    assert ended == ["interrupted"]
    assert time.monotonic() - started < 4
    # And a thread processing no message (a test calling the runner) is left alone
    middleware.allow(0.01)
    deadlines = vars(middleware.manager)["deadlines"]  # the ctypes manager's, by thread
    assert deadlines.get(outside) is None
