"""The runner's decisions, without a database: what an attempt stores and how the execution
moves on (retry, finish, advance), and which ledger an engine gets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine

from app.engine import ledger
from app.engine.attempts import Advance, Claim, Finish, Outcome, Retry, Run
from app.engine.budgets import MAX_RATE_WAITS, RateLimitWait
from app.engine.context import ExecutionContext
from app.engine.errors import ActionError
from app.engine.runner import decide
from app.models import ExecutionStatus

STARTED = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ENDED = STARTED + timedelta(seconds=2)


def _claim(*actions: dict[str, Any], position: int = 0, attempt: int = 1) -> Claim:
    context = ExecutionContext(7, 1, "w", 1, {}, {})
    run = Run(7, {"actions": list(actions), "workflow": {"name": "w"}}, context, {})
    return Claim(run, position, attempt, 42, STARTED, [])


def _step(key: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "type": "transform", "config": {}, **extra}


def test_a_success_advances_and_claims_the_next_step_while_the_slice_lasts() -> None:
    claim = _claim(_step("a"), _step("b"))
    outcome = Outcome(output={"x": 1}, input={"in": 1}, finished_at=ENDED)

    record, move = decide(claim, outcome, keep_going=True)

    assert (record.status, record.output, record.finished_at) == ("completed", {"x": 1}, ENDED)
    assert record.attempt_log == [
        {
            "attempt": 1,
            "started_at": STARTED.isoformat(),
            "finished_at": ENDED.isoformat(),
            "ended_by": "worker",
        }
    ]
    assert move == Advance(1, 0.0, claim=True)
    # past the time slice, or before a delay, the next step gets a doorbell instead
    assert decide(claim, outcome, keep_going=False)[1] == Advance(1, 0.0, claim=False)
    delayed = Outcome(output={}, suspend_seconds=30, finished_at=ENDED)
    assert decide(claim, delayed, keep_going=True)[1] == Advance(1, 30, claim=False)


def test_disabled_steps_are_passed_over_and_the_last_step_finishes() -> None:
    claim = _claim(_step("a"), _step("b", enabled=False))
    _, move = decide(claim, Outcome(output={}, finished_at=ENDED), keep_going=True)
    assert move == Finish(ExecutionStatus.COMPLETED, None, 2, skip_after=None)


def test_a_stop_finishes_and_skips_the_rest() -> None:
    claim = _claim(_step("a"), _step("b"), _step("c"), position=1)
    _, move = decide(claim, Outcome(output={}, stop=True, finished_at=ENDED), keep_going=True)
    assert move == Finish(ExecutionStatus.COMPLETED, None, 3, skip_after=1)


def test_a_retryable_error_waits_per_the_policy_then_fails_the_execution() -> None:
    retry = {"attempts": 2, "backoff": {"type": "fixed", "delay": 5}}
    failure = Outcome(error=ActionError("boom"), finished_at=ENDED)

    record, move = decide(_claim(_step("a", retry=retry)), failure, keep_going=True)
    assert (record.status, record.error, record.finished_at) == ("pending", "boom", None)
    assert record.next_retry_at == ENDED + timedelta(seconds=5)
    assert record.attempt_log[-1]["error"] == "boom"
    assert move == Retry(5)

    last = _claim(_step("a", retry=retry), _step("b"), attempt=2)
    record, move = decide(last, failure, keep_going=True)
    assert (record.status, record.finished_at) == ("failed", ENDED)
    assert move == Finish(ExecutionStatus.FAILED, "Step 'a' failed: boom", 0, skip_after=0)


def test_retry_after_from_the_error_wins_and_non_retryable_fails_at_once() -> None:
    claim = _claim(_step("a"))
    throttled = Outcome(error=ActionError("slow down", retry_after=60), finished_at=ENDED)
    assert decide(claim, throttled, keep_going=True)[1] == Retry(60)
    final = Outcome(error=ActionError("bad", retryable=False), finished_at=ENDED)
    assert isinstance(decide(claim, final, keep_going=True)[1], Finish)


def test_a_rate_limit_wait_is_retried_without_counting_as_an_attempt() -> None:
    # Given a step allowed a single attempt, and two earlier waits for Slack's rate limit
    waited = {"attempt": 1, "error": "wait", "waiting": {"service": "Slack", "until": "x"}}
    claim = _claim(_step("a", retry={"attempts": 1}), attempt=3)
    claim.attempt_log = [waited, {**waited, "attempt": 2}]
    wait = Outcome(error=RateLimitWait("Slack", 12.5), finished_at=ENDED)

    # When it waits once more, it is sent again after the wait, the line saying until when
    record, move = decide(claim, wait, keep_going=True)
    assert move == Retry(12.5)
    assert record.status == "pending"
    until = (ENDED + timedelta(seconds=12.5)).isoformat()
    assert record.attempt_log[-1]["waiting"] == {"service": "Slack", "until": until}

    # And the waits left its attempts alone: a plain failure now is its first (and last) one
    failure = Outcome(error=ActionError("boom"), finished_at=ENDED)
    assert isinstance(decide(claim, failure, keep_going=True)[1], Finish)
    # with two attempts allowed, the failure is retried after the first retry's backoff
    twice = _claim(_step("a", retry={"attempts": 2}), attempt=3)
    twice.attempt_log = claim.attempt_log
    assert decide(twice, failure, keep_going=True)[1] == Retry(1.0)


def test_waits_past_the_cap_count_as_attempts() -> None:
    waited = {"attempt": 1, "waiting": {"service": "Slack", "until": "x"}}
    claim = _claim(_step("a", retry={"attempts": 1}), attempt=MAX_RATE_WAITS + 1)
    claim.attempt_log = [{**waited, "attempt": n} for n in range(1, MAX_RATE_WAITS + 1)]
    record, move = decide(claim, Outcome(error=RateLimitWait("Slack", 5), finished_at=ENDED), True)
    assert isinstance(move, Finish)
    assert "waiting" not in record.attempt_log[-1]


def test_continue_on_error_records_the_failure_and_goes_on() -> None:
    claim = _claim(_step("a", continue_on_error=True, retry={"attempts": 1}), _step("b"))
    failure = Outcome(error=ActionError("boom"), finished_at=ENDED)
    record, move = decide(claim, failure, keep_going=True)
    assert record.status == "failed"
    assert move == Advance(1, 0.0, claim=True)


@pytest.mark.parametrize(
    ("url", "kind", "chains"),
    [
        ("sqlite://", ledger.PortableLedger, False),
        ("postgresql+psycopg://u@127.0.0.1:9/none", ledger.PostgresLedger, True),
    ],
)
def test_the_ledger_is_chosen_once_from_the_dialect(
    url: str, kind: type[ledger.PortableLedger], chains: bool
) -> None:
    engine = create_engine(url)  # no connection is made
    chosen = ledger.for_engine(engine, timedelta(seconds=30), ledger.Limits(1 << 20, 10_000))
    assert type(chosen) is kind
    assert chosen.records_chains is chains
