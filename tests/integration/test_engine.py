"""The engine end to end: SQLite + in-process StubBroker worker, and PostgreSQL + Redis with a
real `dramatiq app.tasks` worker process and a `flask scheduler` process."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.engine_harness import Engine, engine_fixture


@pytest.fixture(scope="module")
def engine(
    backend: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from engine_fixture(backend, database_url, tmp_path_factory.mktemp("engine"))


THREE_STEPS = {
    "name": "Order pipeline",
    "steps": [
        {
            "key": "shape",
            "type": "transform",
            "config": {
                "fields": {
                    "email": "{{ trigger.customer.email }}",
                    "total": "{{ trigger.amount * 2 }}",
                    "note": "{{ trigger.note }}",
                }
            },
        },
        {
            "key": "big_only",
            "type": "filter",
            "config": {
                "conditions": [
                    {"left": "{{ steps.shape.total }}", "operator": "greater_than", "right": 10}
                ]
            },
        },
        {
            "key": "record",
            "type": "log",
            "config": {
                "message": "{{ steps.shape.email }} spent {{ steps.shape.total }}: "
                "{{ steps.shape.note }}"
            },
        },
    ],
}


def test_three_steps_pass_outputs_by_key(engine: Engine) -> None:
    # Given a transform → filter → log workflow
    workflow_id = engine.workflow(THREE_STEPS)

    # When it is triggered with data that passes the filter
    execution_id = engine.trigger(
        workflow_id, {"customer": {"email": "a@b.c"}, "amount": 21, "note": "{{ 7*7 }}"}
    )
    (execution,) = engine.wait(execution_id)

    # Then every step ran, and each read the earlier ones by key; data stayed data
    assert execution.status == "completed"
    shape, check, record = engine.steps(execution_id)
    assert shape.output == {"email": "a@b.c", "total": 42, "note": "{{ 7*7 }}"}
    assert check.output == {"passed": True, "results": [True]}
    assert (record.output or {})["message"] == "a@b.c spent 42: {{ 7*7 }}"
    assert [s.attempts for s in (shape, check, record)] == [1, 1, 1]
    assert execution.started_at and execution.finished_at


def test_false_filter_completes_and_skips_the_rest(engine: Engine) -> None:
    workflow_id = engine.workflow(THREE_STEPS)

    execution_id = engine.trigger(
        workflow_id, {"customer": {"email": "x"}, "amount": 1, "note": ""}
    )
    (execution,) = engine.wait(execution_id)

    assert execution.status == "completed"
    assert [s.status for s in engine.steps(execution_id)] == ["completed", "completed", "skipped"]


GROUPED = {
    "name": "Grouped filter",
    "steps": [
        {
            "key": "worth_it",
            "type": "filter",
            "config": {
                "conditions": [  # (amount > 100 AND vip) OR country is FR
                    {
                        "match": "all",
                        "conditions": [
                            {
                                "left": "{{ trigger.amount }}",
                                "operator": "greater_than",
                                "right": 100,
                            },
                            {"left": "{{ trigger.vip }}", "operator": "is_true"},
                        ],
                    },
                    {"left": "{{ trigger.country }}", "operator": "equals", "right": "FR"},
                ],
                "match": "any",
            },
        },
        {"key": "record", "type": "log", "config": {"message": "{{ trigger.amount }}"}},
    ],
}


def test_a_grouped_filter_runs_and_records_which_conditions_held(engine: Engine) -> None:
    workflow_id = engine.workflow(GROUPED)

    passing = engine.trigger(workflow_id, {"amount": 150, "vip": False, "country": "FR"})
    failing = engine.trigger(workflow_id, {"amount": 150, "vip": False, "country": "DE"})
    engine.wait(passing)
    engine.wait(failing)

    check, record = engine.steps(passing)
    assert check.output == {
        "passed": True,
        "results": [{"match": "all", "passed": False, "results": [True, False]}, True],
    }
    assert record.status == "completed"
    stopped, skipped = engine.steps(failing)
    assert stopped.output == {
        "passed": False,
        "results": [{"match": "all", "passed": False, "results": [True, False]}, False],
    }
    assert skipped.status == "skipped"


def test_reordering_steps_keeps_references_by_key(engine: Engine) -> None:
    # Given the log step moved first, reading a step that now runs after it
    spec = {
        **THREE_STEPS,
        "steps": [
            THREE_STEPS["steps"][0],
            {"key": "early", "type": "log", "config": {"message": "{{ trigger.amount }}"}},
            THREE_STEPS["steps"][2],
        ],
    }
    reordered = {**spec, "steps": [spec["steps"][1], spec["steps"][0], spec["steps"][2]]}
    workflow_id = engine.workflow(reordered)

    execution_id = engine.trigger(
        workflow_id, {"customer": {"email": "k@k"}, "amount": 3, "note": "n"}
    )
    (execution,) = engine.wait(execution_id)

    assert execution.status == "completed"
    assert (engine.steps(execution_id)[2].output or {})["message"] == "k@k spent 6: n"


def _gaps(step_log: list[dict[str, str]]) -> list[float]:
    starts = [datetime.fromisoformat(entry["started_at"]) for entry in step_log]
    return [(b - a).total_seconds() for a, b in itertools.pairwise(starts)]


def test_retry_with_exponential_backoff_then_success(engine: Engine) -> None:
    # Given a step that fails twice, with 3 attempts and an exponential 100 ms backoff
    workflow_id = engine.workflow(
        {
            "name": "flaky",
            "steps": [
                {
                    "key": "flaky",
                    "type": "test_flaky",
                    "config": {"succeed_on_attempt": 3},
                    "retry": {"attempts": 3, "backoff": {"type": "exponential", "delay": 0.1}},
                }
            ],
        }
    )

    execution_id = engine.trigger(workflow_id)
    (execution,) = engine.wait(execution_id)

    # Then it completes on the third attempt, after waits of ≈100 ms then ≈200 ms
    assert execution.status == "completed"
    (step,) = engine.steps(execution_id)
    assert step.attempts == 3
    assert step.output == {"attempt": 3}
    first_gap, second_gap = _gaps(step.attempt_log)
    assert 0.1 <= first_gap < 0.6
    assert 0.2 <= second_gap < 0.8
    assert [e.get("error") for e in step.attempt_log] == [
        "planned failure on attempt 1",
        "planned failure on attempt 2",
        None,
    ]


def test_attempts_exhausted_fails_with_the_error_stored(engine: Engine) -> None:
    workflow_id = engine.workflow(
        {
            "name": "doomed",
            "steps": [
                {
                    "key": "flaky",
                    "type": "test_flaky",
                    "config": {"succeed_on_attempt": 9},
                    "retry": {"attempts": 2, "backoff": {"type": "fixed", "delay": 0.05}},
                },
                {"key": "after", "type": "log", "config": {"message": "never"}},
            ],
        }
    )

    execution_id = engine.trigger(workflow_id)
    (execution,) = engine.wait(execution_id)

    assert execution.status == "failed"
    assert execution.error == "Step 'flaky' failed: planned failure on attempt 2"
    flaky, after = engine.steps(execution_id)
    assert (flaky.status, flaky.attempts, flaky.error) == (
        "failed",
        2,
        "planned failure on attempt 2",
    )
    assert after.status == "skipped"


def test_non_retryable_error_fails_at_once(engine: Engine) -> None:
    workflow_id = engine.workflow(
        {
            "name": "no retry",
            "steps": [
                {
                    "key": "flaky",
                    "type": "test_flaky",
                    "config": {"succeed_on_attempt": 2, "retryable": False},
                    "retry": {"attempts": 5, "backoff": {"type": "fixed", "delay": 0.05}},
                }
            ],
        }
    )

    (execution,) = engine.wait(engine.trigger(workflow_id))

    assert execution.status == "failed"
    assert engine.steps(execution.id)[0].attempts == 1


def test_continue_on_error_goes_on(engine: Engine) -> None:
    workflow_id = engine.workflow(
        {
            "name": "tolerant",
            "steps": [
                {
                    "key": "flaky",
                    "type": "test_flaky",
                    "config": {"succeed_on_attempt": 9},
                    "retry": {"attempts": 1},
                    "continue_on_error": True,
                },
                {"key": "after", "type": "log", "config": {"message": "still here"}},
            ],
        }
    )

    (execution,) = engine.wait(engine.trigger(workflow_id))

    assert execution.status == "completed"
    assert [s.status for s in engine.steps(execution.id)] == ["failed", "completed"]


def test_missing_template_path_is_a_step_error_naming_it(engine: Engine) -> None:
    workflow_id = engine.workflow(
        {
            "name": "typo",
            "steps": [
                {"key": "say", "type": "log", "config": {"message": "{{ trigger.customer.nmae }}"}}
            ],
        }
    )

    (execution,) = engine.wait(engine.trigger(workflow_id, {"customer": {"name": "Ann"}}))

    assert execution.status == "failed"
    step = engine.steps(execution.id)[0]
    assert step.attempts == 1  # a template error is not retried
    assert "config.message" in (step.error or "")
    assert "no field 'nmae' (available: name)" in (step.error or "")


def _transform(key: str, value: str) -> dict[str, object]:
    return {"key": key, "type": "transform", "config": {"fields": {"value": value}}}


def test_pure_steps_run_back_to_back_are_each_recorded(engine: Engine) -> None:
    # Given transforms and a filter in a row (pure steps: PostgreSQL records them together)
    workflow_id = engine.workflow(
        {
            "name": "chain",
            "steps": [
                _transform("one", "{{ trigger.n + 1 }}"),
                _transform("two", "{{ steps.one.value * 10 }}"),
                {
                    "key": "check",
                    "type": "filter",
                    "config": {"conditions": [{"left": "{{ steps.two.value }}", "right": 20}]},
                },
                _transform("three", "{{ steps.two.value + 1 }}"),
            ],
        }
    )

    (execution,) = engine.wait(engine.trigger(workflow_id, {"n": 1}))

    # Then each step reads as if recorded alone: its input, output, one attempt, its times
    assert execution.status == "completed"
    steps = engine.steps(execution.id)
    assert [s.status for s in steps] == ["completed"] * 4
    assert [s.output for s in steps] == [
        {"value": 2},
        {"value": 20},
        {"passed": True, "results": [True]},
        {"value": 21},
    ]
    assert steps[1].input == {"fields": {"value": 20}}
    assert [s.attempts for s in steps] == [1, 1, 1, 1]
    for earlier, later in itertools.pairwise(steps):
        assert earlier.started_at and earlier.finished_at and later.started_at
        assert earlier.started_at <= earlier.finished_at <= later.started_at
    assert [[entry["attempt"] for entry in s.attempt_log] for s in steps] == [[1]] * 4


def test_a_failure_inside_a_chain_of_pure_steps_keeps_what_ran_before(engine: Engine) -> None:
    workflow_id = engine.workflow(
        {
            "name": "broken chain",
            "steps": [
                _transform("one", "{{ trigger.n }}"),
                _transform("two", "{{ steps.one.value + 1 }}"),
                _transform("three", "{{ steps.two.nope }}"),
                _transform("four", "never"),
            ],
        }
    )

    (execution,) = engine.wait(engine.trigger(workflow_id, {"n": 5}))

    assert execution.status == "failed"
    steps = engine.steps(execution.id)
    assert [s.status for s in steps] == ["completed", "completed", "failed", "skipped"]
    assert [s.output for s in steps[:2]] == [{"value": 5}, {"value": 6}]
    assert steps[2].attempts == 1
    assert "no field 'nope'" in (steps[2].error or "")
    assert execution.error and "three" in execution.error


def test_a_false_filter_after_a_chain_keeps_the_chain_and_skips_the_rest(engine: Engine) -> None:
    workflow_id = engine.workflow(
        {
            "name": "stopped chain",
            "steps": [
                _transform("one", "{{ trigger.n }}"),
                {
                    "key": "check",
                    "type": "filter",
                    "config": {"conditions": [{"left": "{{ steps.one.value }}", "right": 1}]},
                },
                _transform("two", "never"),
            ],
        }
    )

    (execution,) = engine.wait(engine.trigger(workflow_id, {"n": 2}))

    assert execution.status == "completed"
    steps = engine.steps(execution.id)
    assert [s.status for s in steps] == ["completed", "completed", "skipped"]
    assert steps[0].output == {"value": 2}
    assert steps[1].output == {"passed": False, "results": [False]}


def test_delay_step_resumes_later_without_holding_a_thread(engine: Engine) -> None:
    workflow_id = engine.workflow(
        {
            "name": "wait",
            "steps": [
                {"key": "pause", "type": "delay", "config": {"amount": 0.3}},
                {
                    "key": "after",
                    "type": "log",
                    "config": {"message": "{{ steps.pause.waited_seconds }}"},
                },
            ],
        }
    )

    execution_id = engine.trigger(workflow_id)
    (execution,) = engine.wait(execution_id)

    assert execution.status == "completed"
    pause, after = engine.steps(execution_id)
    assert (after.output or {})["message"] == "0.3"
    assert after.started_at and pause.finished_at
    assert (after.started_at - pause.finished_at).total_seconds() >= 0.29


def test_duplicate_delivery_does_nothing_the_second_time(engine: Engine, tmp_path: Path) -> None:
    journal = tmp_path / "effects.log"
    workflow_id = engine.workflow(
        {
            "name": "once",
            "steps": [
                {"key": "effect", "type": "test_effect", "config": {"journal": str(journal)}}
            ],
        }
    )
    execution_id = engine.trigger(workflow_id)
    (execution,) = engine.wait(execution_id)
    before = engine.steps(execution_id)[0]

    # When the same message is delivered again (twice, for good measure)
    send = engine.container.doorbell.send
    send(execution_id, 0, 1)
    send(execution_id, 0, 1)
    # a later execution's completion proves the queue moved past the duplicates
    marker = engine.trigger(workflow_id)
    engine.wait(marker)

    # Then the effect happened once for the first execution, and its rows did not change
    lines = journal.read_text().splitlines()
    assert sum(line.startswith(f"{execution_id}:effect ") for line in lines) == 1
    after = engine.steps(execution_id)[0]
    assert (after.attempts, after.finished_at) == (before.attempts, before.finished_at)
    assert engine.execution(execution_id).updated_at == execution.updated_at


def test_a_plugin_from_an_entry_point_runs(engine: Engine) -> None:
    workflow_id = engine.workflow(
        {
            "name": "plugin",
            "steps": [{"key": "loud", "type": "shout", "config": {"text": "{{ trigger.word }}"}}],
        }
    )

    (execution,) = engine.wait(engine.trigger(workflow_id, {"word": "hello"}))

    assert execution.status == "completed"
    assert engine.steps(execution.id)[0].output == {"text": "HELLO!"}


def test_a_step_longer_than_the_lease_is_not_taken_for_dead(engine: Engine, tmp_path: Path) -> None:
    # Given a step that runs for twice the lease (the worker keeps its lease fresh)
    journal = tmp_path / "effects.log"
    workflow_id = engine.workflow(
        {
            "name": "slow",
            "steps": [
                {
                    "key": "slow",
                    "type": "test_effect",
                    "config": {"journal": str(journal), "sleep_first_attempt": 2 * engine.lease},
                }
            ],
        }
    )

    (execution,) = engine.wait(engine.trigger(workflow_id), timeout=30)

    # Then recovery never took it over: one attempt, one effect
    assert execution.status == "completed"
    assert engine.steps(execution.id)[0].attempts == 1
    assert len(journal.read_text().splitlines()) == 1
