"""Time limits and delay until, end to end on both backends (SQLite with the embedded worker and
scheduler; PostgreSQL with `dramatiq app.tasks` and `flask scheduler` processes): a run past its
limit fails with the step it was on, waiting in a delay or running; an attempt past its step's
limit fails as a timeout and is retried, whether the action's own I/O ends it or recovery and
Dramatiq have to; a delay waits until a time given in the workflow's zone."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.engine_harness import Engine, engine_fixture
from tests.fakes.http import FakeServer, Reply

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def engine(
    backend: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from engine_fixture(
        backend,
        database_url,
        tmp_path_factory.mktemp("limits"),
        OUTBOUND_ALLOWLIST=["127.0.0.1/32"],
    )


class Lines(logging.Handler):
    """The records of one logger, in this process (the embedded worker's threads)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def broker_log() -> Iterator[Lines]:
    lines = Lines()
    logger = logging.getLogger("app.broker")
    logger.addHandler(lines)
    try:
        yield lines
    finally:
        logger.removeHandler(lines)


def _logged(engine: Engine, broker_log: Lines, needle: str) -> bool:
    """Whether a worker logged `needle` (a worker process's stderr, or this process's)."""
    if engine.mode == "stub":
        return any(needle in line for line in broker_log.lines)
    return any(needle in line for lines in engine.logs.values() for line in lines)


def _stays(condition: Callable[[], bool], seconds: float) -> None:
    """Assert that `condition` holds all along for `seconds`: the absence of a late write,
    which no event announces."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert condition()
        time.sleep(0.1)


def _journal(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_a_run_waiting_in_a_long_delay_fails_at_its_time_limit(engine: Engine) -> None:
    # Given a workflow allowed 2 s in all, whose first step waits an hour
    workflow_id = engine.workflow(
        {
            "name": "Slow to start",
            "settings": {"time_limit_seconds": 2},
            "steps": [
                {"key": "pause", "type": "delay", "config": {"amount": 1, "unit": "hours"}},
                {"key": "after", "name": "After", "type": "log", "config": {"message": "x"}},
            ],
        }
    )

    # When it runs
    execution_id = engine.trigger(workflow_id)
    (execution,) = engine.wait(execution_id, timeout=30)

    # Then it fails once past its deadline, naming the step it had not started yet
    assert execution.status == "failed"
    assert execution.error == (
        "The run exceeded its time limit of 2 s while waiting to start step “After” (after)."
    )
    assert execution.has_errors
    assert execution.deadline_at == execution.created_at + timedelta(seconds=2)
    assert execution.finished_at is not None and execution.finished_at >= execution.deadline_at
    assert execution.lease_expires_at is None
    pause, after = engine.steps(execution_id)
    assert (pause.status, after.status) == ("completed", "skipped")
    assert after.next_retry_at is None


def test_a_run_waiting_for_a_call_fails_at_its_time_limit(engine: Engine) -> None:
    # Given a run allowed 2 s that waits up to a day for a call
    workflow_id = engine.workflow(
        {
            "name": "Call me",
            "settings": {"time_limit_seconds": 2},
            "steps": [
                {
                    "key": "call",
                    "name": "Call",
                    "type": "wait_for_call",
                    "config": {"timeout_amount": 1, "timeout_unit": "days"},
                }
            ],
        }
    )

    # When it runs and parks
    execution_id = engine.trigger(workflow_id)
    (execution,) = engine.wait(execution_id, timeout=30)

    # Then it fails at its deadline, the waiting step skipped (its resume URL matches nothing)
    assert execution.status == "failed"
    assert execution.error == "The run exceeded its time limit of 2 s while on step “Call” (call)."
    (call,) = engine.steps(execution_id)
    assert (call.status, call.next_retry_at) == ("skipped", None)


def test_a_running_step_is_ended_by_the_runs_time_limit(engine: Engine, tmp_path: Path) -> None:
    # Given a run allowed 2 s whose step runs for 5
    journal = tmp_path / "effects.log"
    workflow_id = engine.workflow(
        {
            "name": "Too slow",
            "settings": {"time_limit_seconds": 2},
            "steps": [
                {
                    "key": "work",
                    "name": "Work",
                    "type": "test_effect",
                    "config": {"journal": str(journal), "sleep_first_attempt": 5},
                },
                {"key": "after", "type": "log", "config": {"message": "x"}},
            ],
        }
    )

    # When it runs
    execution_id = engine.trigger(workflow_id)
    (execution,) = engine.wait(execution_id, timeout=30)

    # Then it fails while the step runs, and the step's attempt ends by the time limit
    error = "The run exceeded its time limit of 2 s while on step “Work” (work)."
    assert (execution.status, execution.error, execution.has_errors) == ("failed", error, True)
    work, after = engine.steps(execution_id)
    assert (work.status, work.error, work.attempts) == ("failed", error, 1)
    assert [line["ended_by"] for line in work.attempt_log] == ["time_limit"]
    assert after.status == "skipped"

    # And the worker that ends the step later (its effect done) records nothing
    engine.wait_for(lambda: len(_journal(journal)) == 1, timeout=30)
    _stays(lambda: engine.steps(execution_id)[0].attempt_log == work.attempt_log, seconds=1)
    assert engine.steps(execution_id)[0].status == "failed"


def test_a_slow_answer_is_cut_at_the_steps_limit_and_the_retry_runs(engine: Engine) -> None:
    # Given a server whose first answer takes 5 s, and a workflow whose steps may take 1 s
    with FakeServer() as server:
        slow = dataclasses.replace(Reply.json({"n": 1}), delay=5)
        server.on("GET", "/slow", slow, Reply.json({"n": 2}))
        workflow_id = engine.workflow(
            {
                "name": "Impatient",
                "settings": {"step_time_limit_seconds": 1},
                "steps": [
                    {
                        "key": "call",
                        "type": "http_request",
                        "config": {"url": server.url("/slow")},
                        "retry": {"attempts": 2, "backoff": {"type": "fixed", "delay": 0.1}},
                    }
                ],
            }
        )

        # When it runs
        execution_id = engine.trigger(workflow_id)
        (execution,) = engine.wait(execution_id, timeout=30)

    # Then the first attempt timed out at the step's limit and the retry got the answer
    assert execution.status == "completed"
    (call,) = engine.steps(execution_id)
    assert call.attempts == 2
    assert (call.output or {})["body"] == {"n": 2}
    first = call.attempt_log[0]
    assert "did not answer before the step's time limit of 1 s ran out" in first["error"]
    assert first["ended_by"] == "worker"
    started = datetime.fromisoformat(first["started_at"])
    assert datetime.fromisoformat(first["finished_at"]) - started < timedelta(seconds=3)


def test_a_step_that_ignores_its_limit_is_timed_out_and_retried(
    engine: Engine, tmp_path: Path, broker_log: Lines
) -> None:
    # Given a step allowed 1 s per attempt whose first attempt sleeps 5 s (deaf to deadlines)
    journal = tmp_path / "effects.log"
    workflow_id = engine.workflow(
        {
            "name": "Stuck",
            "steps": [
                {
                    "key": "work",
                    "type": "test_effect",
                    "config": {"journal": str(journal), "sleep_first_attempt": 5},
                    "retry": {
                        "attempts": 2,
                        "backoff": {"type": "fixed", "delay": 0.1},
                        "timeout_seconds": 1,
                    },
                }
            ],
        }
    )

    # When it runs
    execution_id = engine.trigger(workflow_id)
    (execution,) = engine.wait(execution_id, timeout=30)

    # Then recovery ended the first attempt as timed out, and the retry completed the run
    assert execution.status == "completed"
    (work,) = engine.steps(execution_id)
    assert (work.status, work.attempts) == ("completed", 2)
    first, second = work.attempt_log
    assert first["error"] == "The step took longer than its limit of 1 s."
    assert (first["ended_by"], second["ended_by"]) == ("time_limit", "worker")

    # And Dramatiq interrupted the stuck attempt's thread before it could have any effect
    engine.wait_for(lambda: _logged(engine, broker_log, "TimeLimitExceeded"), timeout=30)
    assert [line.split()[1] for line in _journal(journal)] == ["attempt=2"]


def test_a_delay_until_a_time_in_the_workflows_zone(engine: Engine) -> None:
    # Given a workflow in New York that waits until 09:00 there, ten days from now
    day = (datetime.now(NEW_YORK) + timedelta(days=10)).date()
    workflow_id = engine.workflow(
        {
            "name": "Morning",
            "settings": {"timezone": "America/New_York"},
            "steps": [
                {
                    "key": "pause",
                    "type": "delay",
                    "config": {"mode": "until", "until": f"{day.isoformat()}T09:00"},
                },
                {"key": "after", "type": "log", "config": {"message": "x"}},
            ],
        }
    )

    # When it runs
    execution_id = engine.trigger(workflow_id)
    engine.wait_for(lambda: engine.steps(execution_id)[0].status == "completed")

    # Then the run resumes at 09:00 New York time: 14:00 UTC in winter, 13:00 in summer
    nine = datetime(day.year, day.month, day.day, 9, tzinfo=NEW_YORK)
    utc_hour = 13 if nine.dst() else 14
    resume_at = datetime(day.year, day.month, day.day, utc_hour, tzinfo=UTC)
    pause, after = engine.steps(execution_id)
    output: dict[str, Any] = pause.output or {}
    assert output["resume_at"] == resume_at.isoformat()
    assert output["timezone"] == "America/New_York"
    assert output["resume_at_local"] == nine.isoformat()
    assert after.status == "pending"
    assert after.next_retry_at is not None
    assert abs(after.next_retry_at - resume_at) < timedelta(seconds=5)
    assert engine.execution(execution_id).status == "running"
