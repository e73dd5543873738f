"""On PostgreSQL the claim of a pure step only reads it; its chain's record takes it from pending.

A pure step (transform, filter) has no effect but its output, so nothing is stored before it
runs: the execution stays `pending` until the statement that records the chain, which checks
what the claim would have checked (the step pending at that attempt, the run live at that
position). Duplicate doorbells both run the chain; one record lands, the other matches nothing.
A step with an effect is still claimed (stored `running`) before it runs. The ledger is driven
directly here: no worker runs, so nothing else takes the steps. On SQLite (the portable
ledger) every claim is stored: the same outcomes, reached through a stored claim.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask

from app.engine.attempts import UNCLAIMED, Claim, Outcome
from app.engine.errors import ActionError
from app.engine.runner import decide
from app.extensions import container, db
from app.models import Execution, ExecutionStep
from app.models.base import utcnow
from tests.google_support import run
from tests.hooks_support import make_workflow

MANUAL = {"type": "manual", "config": {}}


@pytest.fixture
def reads(backend: str) -> bool:
    """Whether the claim of a pure step only reads it (the PostgreSQL ledger)."""
    return backend == "postgresql"


def _rows(app: Flask, execution_id: int) -> tuple[Execution, list[ExecutionStep]]:
    with app.app_context():
        execution = db.session.get(Execution, execution_id)
        steps = list(execution.steps) if execution is not None else []
        db.session.expunge_all()
    assert execution is not None
    return execution, steps


def _done(claim: Claim, output: dict[str, int]) -> Outcome:
    return Outcome(output=output, input={}, finished_at=claim.started_at + timedelta(seconds=0.01))


def test_a_pure_step_is_read_not_claimed_and_a_duplicate_record_matches_nothing(
    app: Flask, reads: bool
) -> None:
    # Given a pending run of a one-step workflow whose step is pure
    steps = [{"key": "shape", "type": "transform", "config": {"fields": {"n": "1"}}}]
    execution_id = run(app, make_workflow(app, MANUAL, steps), {})
    ledger = container(app).runner.ledger

    # When two doorbells for its step are handled at once
    first = ledger.claim(execution_id, 0, 1, None)
    second = ledger.claim(execution_id, 0, 1, None)

    execution, (step,) = _rows(app, execution_id)
    assert first is not None
    if reads:
        # Then both read it, and nothing was stored: the run and the step are still pending
        assert second is not None
        assert first.step_id == second.step_id == UNCLAIMED
        assert (execution.status, execution.started_at) == ("pending", None)
        assert (step.status, step.attempts, step.attempt_log) == ("pending", 0, [])
    else:
        # Then (portable ledger) the first stored its claim and the second found it taken
        assert second is None
        assert (execution.status, step.status, step.attempts) == ("running", "running", 1)

    # When both record their outcome
    claims = [(first, {"n": 1}), (second, {"n": 2})]
    for claim, output in [(claim, output) for claim, output in claims if claim is not None]:
        record, move = decide(claim, _done(claim, output), keep_going=True)
        assert ledger.record([record], move) is None  # the run ended (or was not ours)

    # Then the first record completed the run; the second changed nothing
    execution, (step,) = _rows(app, execution_id)
    assert execution.status == "completed"
    assert execution.started_at is not None
    assert execution.lease_expires_at is None
    assert (step.status, step.attempts, step.output) == ("completed", 1, {"n": 1})
    assert [entry["attempt"] for entry in step.attempt_log] == [1]

    # And a later duplicate doorbell finds nothing to claim
    assert ledger.claim(execution_id, 0, 1, None) is None


def test_a_pure_step_that_fails_is_claimed_then_recorded_as_any_failure(
    app: Flask, reads: bool
) -> None:
    # Given a pending run whose pure step will fail, with retries left
    steps = [
        {
            "key": "shape",
            "type": "transform",
            "config": {"fields": {"n": "1"}},
            "retry": {"attempts": 2, "backoff": {"type": "fixed", "delay": 60}},
        }
    ]
    execution_id = run(app, make_workflow(app, MANUAL, steps), {})
    ledger = container(app).runner.ledger
    claim = ledger.claim(execution_id, 0, 1, None)
    assert claim is not None and (claim.step_id == UNCLAIMED) is reads

    # When its failure is recorded (a retry: not a chain's one statement)
    failed = Outcome(input={}, error=ActionError("bad template"), finished_at=utcnow())
    record, move = decide(claim, failed, keep_going=True)
    ledger.record([record], move)

    # Then the step was claimed for attempt 1 and waits for attempt 2; the run is live
    execution, (step,) = _rows(app, execution_id)
    assert execution.status == "running"
    assert (step.status, step.attempts, step.error) == ("pending", 1, "bad template")
    assert step.next_retry_at is not None

    # And attempt 2 is read again, then completes the run
    retry = ledger.claim(execution_id, 0, 2, None)
    assert retry is not None and (retry.step_id == UNCLAIMED) is reads
    assert [entry["attempt"] for entry in retry.attempt_log] == [1]
    record, move = decide(retry, _done(retry, {"n": 1}), keep_going=True)
    ledger.record([record], move)
    execution, (step,) = _rows(app, execution_id)
    assert (execution.status, step.status, step.attempts) == ("completed", "completed", 2)


def test_a_step_with_an_effect_is_claimed_before_it_runs(app: Flask) -> None:
    # Given a pending run whose first step has an effect
    steps = [{"key": "effect", "type": "test_effect", "config": {"journal": "unused"}}]
    execution_id = run(app, make_workflow(app, MANUAL, steps), {})
    ledger = container(app).runner.ledger

    # When its doorbell is handled twice
    first = ledger.claim(execution_id, 0, 1, None)
    second = ledger.claim(execution_id, 0, 1, None)

    # Then the first claim stored it running; the second found it taken
    assert first is not None and first.step_id != UNCLAIMED
    assert second is None
    execution, (step,) = _rows(app, execution_id)
    assert (execution.status, step.status, step.attempts) == ("running", "running", 1)
    assert execution.lease_expires_at is not None
