"""A step's "Run only if", end to end with the real worker: SQLite + the in-process worker,
PostgreSQL + Redis with a `dramatiq app.tasks` process (tests.engine_harness)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.extensions import db
from app.models import Execution, Workflow
from app.services.executions import lifecycle
from app.services.workflows import crud
from app.services.workflows.specs import WorkflowSpec
from tests.engine_harness import Engine, engine_fixture


@pytest.fixture(scope="module")
def engine(
    backend: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from engine_fixture(backend, database_url, tmp_path_factory.mktemp("engine"))


def _spec(journal: Path, run_if: dict[str, Any]) -> dict[str, Any]:
    """shape (transform) → notify (an effect, only if …) → after (log reading both)."""
    return {
        "name": "Only big orders notify",
        "steps": [
            {
                "key": "shape",
                "type": "transform",
                "config": {"fields": {"total": "{{ trigger.amount * 2 }}"}},
            },
            {
                "key": "notify",
                "type": "test_effect",
                "config": {"journal": str(journal), "marker": "{{ trigger.amount }}"},
                "run_if": run_if,
            },
            {
                "key": "after",
                "type": "log",
                "config": {
                    "message": "total {{ steps.shape.total }}, "
                    "notified: {{ 'yes' if steps.notify is defined else 'no' }}"
                },
            },
        ],
    }


BIG = {
    "match": "all",
    "conditions": [
        {"left": "{{ steps.shape.total }}", "operator": "greater_than", "right": 10},
        {"left": "{{ trigger.country }}", "operator": "equals", "right": "FR"},
    ],
}


def _journal_lines(journal: Path) -> list[str]:
    return journal.read_text().splitlines() if journal.exists() else []


def test_condition_true_runs_the_step(engine: Engine, tmp_path: Path) -> None:
    journal = tmp_path / "effects.log"
    workflow_id = engine.workflow(_spec(journal, BIG))

    (execution,) = engine.wait(engine.trigger(workflow_id, {"amount": 21, "country": "FR"}))

    assert execution.status == "completed"
    shape, notify, after = engine.steps(execution.id)
    assert [s.status for s in (shape, notify, after)] == ["completed"] * 3
    assert len(_journal_lines(journal)) == 1
    assert (after.output or {})["message"] == "total 42, notified: yes"


def test_condition_false_skips_the_step_records_the_values_and_goes_on(
    engine: Engine, tmp_path: Path
) -> None:
    journal = tmp_path / "effects.log"
    workflow_id = engine.workflow(_spec(journal, BIG))

    # When the second condition does not hold (the first does)
    (execution,) = engine.wait(engine.trigger(workflow_id, {"amount": 21, "country": "DE"}))

    # Then the step is skipped, its action never ran, and the run went on to the end
    assert execution.status == "completed"
    assert execution.error is None
    shape, notify, after = engine.steps(execution.id)
    assert [s.status for s in (shape, notify, after)] == ["completed", "skipped", "completed"]
    assert _journal_lines(journal) == []
    # The skipped step's output is the condition with the values it saw
    assert notify.output == {
        "skipped": "run_if",
        "match": "all",
        "conditions": [
            {"left": 42, "operator": "greater_than", "right": 10},
            {"left": "DE", "operator": "equals", "right": "FR"},
        ],
        "results": [True, False],
    }
    assert notify.attempts == 1
    # A later step reads the skipped step as absent (as a disabled step)
    assert (after.output or {})["message"] == "total 42, notified: no"


def test_any_of_a_group_and_a_skipped_last_step(engine: Engine, tmp_path: Path) -> None:
    journal = tmp_path / "effects.log"
    spec = _spec(journal, {"match": "all", "conditions": [{"left": "1", "right": "1"}]})
    spec["steps"][2]["run_if"] = {
        "match": "any",
        "conditions": [
            {"left": "{{ trigger.vip }}", "operator": "is_true"},
            {
                "match": "all",
                "conditions": [
                    {"left": "{{ trigger.amount }}", "operator": "less_than", "right": 5}
                ],
            },
        ],
    }
    workflow_id = engine.workflow(spec)

    (execution,) = engine.wait(engine.trigger(workflow_id, {"amount": 21, "vip": False}))

    assert execution.status == "completed"
    statuses = [s.status for s in engine.steps(execution.id)]
    assert statuses == ["completed", "completed", "skipped"]
    last = engine.steps(execution.id)[2]
    assert (last.output or {})["results"] == [
        False,
        {"match": "all", "passed": False, "results": [False]},
    ]


def test_template_error_in_the_condition_fails_the_step_naming_the_field(
    engine: Engine, tmp_path: Path
) -> None:
    journal = tmp_path / "effects.log"
    typo = {"conditions": [{"left": "{{ trigger.cuntry }}", "operator": "equals", "right": "FR"}]}
    workflow_id = engine.workflow(_spec(journal, typo))

    (execution,) = engine.wait(engine.trigger(workflow_id, {"amount": 21, "country": "FR"}))

    assert execution.status == "failed"
    shape, notify, after = engine.steps(execution.id)
    assert (shape.status, notify.status, after.status) == ("completed", "failed", "skipped")
    assert notify.attempts == 1  # a template error is not retried
    assert "run_if.conditions.0.left" in (notify.error or "")
    assert "no field 'cuntry'" in (notify.error or "")
    assert _journal_lines(journal) == []

    # When the condition is fixed and the run is re-run from the start
    with engine.app.app_context():
        wf = db.session.get(Workflow, workflow_id)
        original = db.session.get(Execution, execution.id)
        assert wf is not None and original is not None
        crud.update_workflow(
            db.session(),
            wf,
            WorkflowSpec.model_validate(_spec(journal, BIG)),
            engine.container.secrets,
            engine.container.handlers,
        )
        again_id = lifecycle.rerun(
            db.session(),
            original,
            wf,
            send=engine.container.doorbell.send,
            settings=engine.container.settings,
        ).id
    (again,) = engine.wait(again_id)

    # Then the new run takes the fixed condition and runs the step
    assert again.status == "completed"
    assert [s.status for s in engine.steps(again.id)] == ["completed"] * 3
    assert len(_journal_lines(journal)) == 1


def test_a_disabled_step_with_a_condition_is_not_run(engine: Engine, tmp_path: Path) -> None:
    journal = tmp_path / "effects.log"
    spec = _spec(journal, BIG)
    spec["steps"][1]["enabled"] = False
    workflow_id = engine.workflow(spec)

    (execution,) = engine.wait(engine.trigger(workflow_id, {"amount": 21, "country": "FR"}))

    assert execution.status == "completed"
    assert [s.status for s in engine.steps(execution.id)] == ["completed", "skipped", "completed"]
    assert _journal_lines(journal) == []


def test_a_rerun_from_the_failed_step_keeps_a_skipped_step_skipped_and_sends_nothing_again(
    engine: Engine, tmp_path: Path
) -> None:
    # Given: a step its condition skips, an effect that happened, then a step that failed
    journal = tmp_path / "effects.log"
    never = {
        "conditions": [{"left": "{{ trigger.amount }}", "operator": "greater_than", "right": 99}]
    }
    spec = {
        "name": "Skip, send, fail",
        "steps": [
            {"key": "maybe", "type": "log", "config": {"message": "big"}, "run_if": never},
            {
                "key": "send",
                "type": "test_effect",
                "config": {"journal": str(journal), "marker": "{{ trigger.amount }}"},
            },
            {"key": "greet", "type": "log", "config": {"message": "{{ trigger.customer.name }}"}},
        ],
    }
    workflow_id = engine.workflow(spec)
    (execution,) = engine.wait(engine.trigger(workflow_id, {"amount": 1}))
    assert execution.status == "failed"
    assert len(_journal_lines(journal)) == 1

    # When it is re-run from the failed step with the data it lacked
    with engine.app.app_context():
        wf = db.session.get(Workflow, workflow_id)
        original = db.session.get(Execution, execution.id)
        assert wf is not None and original is not None
        again_id = lifecycle.rerun(
            db.session(),
            original,
            wf,
            send=engine.container.doorbell.send,
            settings=engine.container.settings,
            from_failed=True,
            trigger_data={"amount": 1, "customer": {"name": "Ann"}},
        ).id
    (again,) = engine.wait(again_id)

    # Then the skipped step stays skipped with its reason, and the effect is not sent again
    assert again.status == "completed"
    maybe, send, greet = engine.steps(again.id)
    assert [s.status for s in (maybe, send, greet)] == ["skipped", "completed", "completed"]
    assert (maybe.output or {}).get("skipped") == "run_if"
    assert len(_journal_lines(journal)) == 1
