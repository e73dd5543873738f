"""A step whose outcome cannot be recorded ends in the same pass, with the reason, not retried.

An HTTP step whose server answers `{"value": NaN}` (PostgreSQL's jsonb refuses NaN) used to
fail at record time: the message was dropped, the step sat `running` until its lease expired,
and recovery took it for a lost worker and sent the POST again. Now the output is a step error
naming the field, and any other failure to record an outcome ends the step with that error; a
lost worker is the only reason left for recovery to take a step over. Real workers: SQLite with
the in-process worker, PostgreSQL with `dramatiq app.tasks` and Redis.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.exc import OperationalError

from app.engine.attempts import Move, Next, StepRecord
from app.engine.ledger import Ledger
from app.extensions import container, embedded_worker
from app.models import Execution
from tests.engine_harness import Engine, engine_fixture
from tests.fakes.http import FakeServer, Reply
from tests.google_support import run
from tests.hooks_support import make_workflow, wait_final

LEASE = 30.0  # seconds: recovery cannot act within these tests
NAN_ANSWER = Reply(200, b'{"ok": true, "value": NaN}', {"Content-Type": "application/json"})


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


@pytest.fixture(scope="module")
def engine(
    backend: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from engine_fixture(
        backend,
        database_url,
        tmp_path_factory.mktemp("unstorable"),
        lease=LEASE,
        OUTBOUND_ALLOWLIST=("127.0.0.1/32",),
    )


def _post_then_log(url: str, **step: Any) -> dict[str, Any]:
    return {
        "name": "Call a server that answers NaN",
        "steps": [
            {
                "key": "call",
                "type": "http_request",
                "config": {"method": "POST", "url": url, "body_type": "json", "body": {"n": 1}},
                **step,
            },
            {"key": "after", "type": "log", "config": {"message": "went on"}},
        ],
    }


@pytest.mark.parametrize(
    ("path", "step", "status", "after"),
    [
        ("/nan", {}, "failed", "skipped"),
        # retry rules allow 3 attempts: an output that cannot be stored is not retried anyway
        ("/nan-retry", {"retry": {"attempts": 3}}, "failed", "skipped"),
        ("/nan-continue", {"continue_on_error": True}, "completed", "completed"),
    ],
)
def test_an_http_answer_holding_nan_fails_the_step_naming_the_field_after_one_request(
    engine: Engine,
    server: FakeServer,
    path: str,
    step: dict[str, Any],
    status: str,
    after: str,
) -> None:
    # Given a workflow whose first step POSTs to a server that answers {"value": NaN}
    path = f"/{engine.backend}{path}"  # the server outlives the module's first backend
    server.on("POST", path, NAN_ANSWER)
    workflow_id = engine.workflow(_post_then_log(server.url(path), **step))

    # When it runs on a real worker
    started = time.monotonic()
    execution_id = engine.trigger(workflow_id)
    (execution,) = engine.wait(execution_id, timeout=LEASE / 2)
    elapsed = time.monotonic() - started

    # Then the step failed with an error naming the field, after one request to the server,
    # and the run ended (as its rules say) long before recovery could have looked at it
    call, following = engine.steps(execution_id)
    assert execution.status == status, execution.error
    assert call.status == "failed"
    assert call.error == "The step's output `body.value` is NaN, which cannot be stored."
    assert call.attempts == 1 and len(call.attempt_log) == 1
    assert call.output is None
    assert len(server.requests_to(path)) == 1
    assert following.status == after
    assert elapsed < LEASE / 2
    print(f"{engine.backend}: NaN answer → execution {status} in {elapsed:.3f} s")


def test_a_workflow_runs_on_after_such_a_failure_elsewhere(
    engine: Engine, server: FakeServer
) -> None:
    # The worker that refused the output is healthy: the next execution completes.
    server.on("POST", "/fine", Reply.json({"value": 1.5}))
    workflow_id = engine.workflow(_post_then_log(server.url("/fine")))

    (execution,) = engine.wait(engine.trigger(workflow_id))

    assert execution.status == "completed"
    call, _ = engine.steps(execution.id)
    assert call.output is not None and call.output["body"] == {"value": 1.5}


class RefusingLedger:
    """The runner's own ledger, except that recording a successful `boom` step fails once with
    `error` (a fault put in the way; the runner is under test)."""

    def __init__(self, ledger: Ledger, error: Exception) -> None:
        self.inner = ledger
        self.records_chains = ledger.records_chains
        self.error = error
        self.refused = 0

    def claim(self, *args: Any) -> Any:
        return self.inner.claim(*args)

    def running(self, execution_id: int, position: int, frame: str = "") -> Any:
        return self.inner.running(execution_id, position, frame)

    def hold(self, step: StepRecord) -> StepRecord | None:
        return self.inner.hold(step)

    def record(self, steps: Sequence[StepRecord], move: Move) -> Next | None:
        keys = {s.claim.run.actions[s.claim.position]["key"] for s in steps if s.completed}
        if "boom" in keys and not self.refused:
            self.refused += 1
            raise self.error
        return self.inner.record(steps, move)


def _run_with(app: Flask, error: Exception, journal: Path) -> tuple[RefusingLedger, Execution]:
    """Run shape → boom → effect with a ledger that fails the record of `boom` once."""
    runner = container(app).runner
    refusing = RefusingLedger(runner.ledger, error)
    runner.ledger = refusing
    steps = [
        {"key": "shape", "type": "transform", "config": {"fields": {"n": "1"}}},
        {"key": "boom", "type": "transform", "config": {"fields": {"m": "2"}}},
        {"key": "effect", "type": "test_effect", "config": {"journal": str(journal)}},
    ]
    workflow_id = make_workflow(app, {"type": "manual", "config": {}}, steps)

    # (in-process worker; on PostgreSQL `shape` and `boom` are recorded together)
    embedded_worker(app).start()
    try:
        run(app, workflow_id, {})
        (execution,) = wait_final(app, workflow_id, timeout=10)
    finally:
        runner.ledger = refusing.inner
    return refusing, execution


def test_any_failure_to_record_an_outcome_ends_the_step_in_the_same_pass(
    app: Flask, tmp_path: Path
) -> None:
    # Given a runner whose ledger refuses the record of step `boom` (as a database refusing
    # a value would), before a step with an effect
    journal = tmp_path / "journal"

    # When it runs
    refusing, execution = _run_with(app, RuntimeError("refused a value"), journal)

    # Then the execution failed at once with the reason: no retry, no recovery, no effect
    assert refusing.refused == 1
    assert execution.status == "failed"
    assert execution.error is not None
    assert "could not be stored (RuntimeError)" in execution.error
    assert "stopped before it finished" not in execution.error
    assert not journal.exists()


def test_a_database_that_fails_for_a_moment_is_asked_again_not_blamed_on_the_step(
    app: Flask, tmp_path: Path
) -> None:
    # Given a runner whose database fails the record of `boom` once (a deadlock, say)
    journal = tmp_path / "journal"
    deadlock = OperationalError("UPDATE execution_steps", {}, Exception("deadlock detected"))

    # When it runs
    refusing, execution = _run_with(app, deadlock, journal)

    # Then the record was made again and the run completed, the effect once
    assert refusing.refused == 1
    assert execution.status == "completed", execution.error
    assert len(journal.read_text().splitlines()) == 1
