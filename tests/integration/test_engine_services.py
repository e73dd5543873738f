"""Workflow and execution services: validation, caps, cancel, re-run, retention."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import Execution, Workflow
from app.services.errors import ConflictError, InvalidInputError, PayloadTooLargeError
from app.services.executions import lifecycle, retention
from app.services.workflows import crud
from app.services.workflows.specs import WorkflowSpec
from tests.engine_harness import Engine, engine_fixture


@pytest.fixture(scope="module")
def engine(
    backend: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from engine_fixture(
        backend, database_url, tmp_path_factory.mktemp("services"), MAX_PAYLOAD_BYTES=2000
    )


def _refused(engine: Engine, spec: dict[str, Any]) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as caught:
        engine.workflow(spec)
    return caught.value


@pytest.mark.parametrize(
    ("step", "field", "message"),
    [
        ({"type": "nope"}, "steps.1.type", "Unknown action type 'nope'."),
        ({"type": "log", "config": {}}, "steps.1.config.message", "Field required"),
        (
            {"type": "log", "config": {"message": "x", "level": "loud"}},
            "steps.1.config.level",
            "Input should be 'info', 'warning' or 'error'",
        ),
        (
            {"type": "log", "config": {"message": "x", "colour": "red"}},
            "steps.1.config.colour",
            "Extra inputs are not permitted",
        ),
        (
            {"type": "log", "config": {"message": "{{ trigger.x "}},
            "steps.1.config.message",
            "template syntax error",
        ),
        ({"type": "delay", "config": {"amount": "{{ trigger.wait }}"}}, None, None),
    ],
)
def test_a_bad_step_is_refused_naming_the_step_and_field(
    engine: Engine, step: dict[str, Any], field: str | None, message: str | None
) -> None:
    spec = {"name": "v", "steps": [{"type": "log", "config": {"message": "ok"}}, step]}
    if field is None:  # a template where a number goes is checked when it runs, not at save
        assert engine.workflow(spec)
        return
    error = _refused(engine, spec)
    assert error.field == field
    assert message is not None and message in error.message


def test_duplicate_keys_are_refused(engine: Engine) -> None:
    error = _refused(
        engine,
        {
            "name": "dup",
            "steps": [
                {"key": "a", "type": "log", "config": {"message": "1"}},
                {"key": "a", "type": "log", "config": {"message": "2"}},
            ],
        },
    )
    assert (error.field, error.message) == ("steps.1.key", "The key 'a' is used twice.")


def test_keys_are_generated_unique_slugs(engine: Engine) -> None:
    workflow_id = engine.workflow(
        {
            "name": "keys",
            "steps": [
                {"type": "log", "config": {"message": "1"}},
                {"type": "log", "config": {"message": "2"}},
                {"key": "log_3", "type": "log", "config": {"message": "3"}},
            ],
        }
    )
    with engine.app.app_context():
        wf = db.session.get(Workflow, workflow_id)
        assert wf is not None
        assert [a.key for a in wf.actions] == ["log", "log_2", "log_3"]


def test_editing_a_workflow_never_changes_a_run_in_flight(engine: Engine) -> None:
    workflow_id = engine.workflow(
        {
            "name": "v1",
            "steps": [
                {"key": "wait", "type": "delay", "config": {"amount": 0.3}},
                {"key": "say", "type": "log", "config": {"message": "version one"}},
            ],
        }
    )
    execution_id = engine.trigger(workflow_id)

    with engine.app.app_context():
        wf = db.session.get(Workflow, workflow_id)
        assert wf is not None
        spec = WorkflowSpec.model_validate(
            {
                "name": "v2",
                "steps": [
                    {"key": "wait", "type": "delay", "config": {"amount": 0.3}},
                    {"key": "say", "type": "log", "config": {"message": "version two"}},
                ],
            }
        )
        stepline = engine.container
        crud.update_workflow(db.session(), wf, spec, stepline.secrets, stepline.handlers)
        assert wf.version == 2

    (execution,) = engine.wait(execution_id)
    assert execution.workflow_version == 1
    assert (engine.steps(execution_id)[1].output or {})["message"] == "version one"


def test_trigger_data_over_the_cap_is_refused(engine: Engine) -> None:
    workflow_id = engine.workflow(
        {"name": "cap", "steps": [{"type": "log", "config": {"message": "x"}}]}
    )
    with pytest.raises(PayloadTooLargeError, match="over the cap of 2000 bytes"):
        engine.trigger(workflow_id, {"blob": "x" * 3000})


def test_an_output_over_the_cap_fails_the_step_clearly(engine: Engine) -> None:
    workflow_id = engine.workflow(
        {
            "name": "big",
            "steps": [
                {
                    "key": "grow",
                    "type": "transform",
                    "config": {
                        "fields": {"a": "{{ trigger.s * 15 }}", "b": "{{ trigger.s * 15 }}"}
                    },
                }
            ],
        }
    )
    (execution,) = engine.wait(engine.trigger(workflow_id, {"s": "y" * 100}))
    assert execution.status == "failed"
    error = engine.steps(execution.id)[0].error or ""
    assert "The step's output is" in error and "over the cap of 2000 bytes" in error


def test_cancel_stops_a_waiting_execution(engine: Engine) -> None:
    workflow_id = engine.workflow(
        {
            "name": "cancel",
            "steps": [
                {"key": "wait", "type": "delay", "config": {"amount": 30}},
                {"key": "never", "type": "log", "config": {"message": "no"}},
            ],
        }
    )
    execution_id = engine.trigger(workflow_id)
    engine.wait_for(lambda: engine.steps(execution_id)[0].status == "completed")

    with engine.app.app_context():
        found = lifecycle.get_execution(
            db.session(), execution_id, engine.execution(execution_id).user_id
        )
        cancelled = lifecycle.cancel(db.session(), found)
        assert cancelled.status == "cancelled"
        with pytest.raises(ConflictError):
            lifecycle.cancel(db.session(), found)

    # the delayed message, if delivered now, does nothing
    with engine.app.app_context():
        engine.container.doorbell.send(execution_id, 1, 1)
    assert [s.status for s in engine.steps(execution_id)] == ["completed", "skipped"]
    assert engine.execution(execution_id).status == "cancelled"


def _rerun(engine: Engine, execution_id: int, **options: Any) -> int:
    with engine.app.app_context():
        original = db.session.get(Execution, execution_id)
        assert original is not None
        wf = db.session.get(Workflow, original.workflow_id)
        assert wf is not None
        again = lifecycle.rerun(
            db.session(),
            original,
            wf,
            send=engine.container.doorbell.send,
            settings=engine.container.settings,
            **options,
        )
        return again.id


def test_rerun_from_the_failed_step_reuses_earlier_outputs(engine: Engine, tmp_path: Any) -> None:
    # Given an execution whose first step had an effect and whose second step failed
    journal = tmp_path / "effects.log"
    spec = {
        "name": "fix me",
        "steps": [
            {
                "key": "effect",
                "type": "test_effect",
                "config": {"journal": str(journal), "marker": "{{ trigger.m }}"},
            },
            {"key": "check", "type": "log", "config": {"message": "{{ trigger.missing }}"}},
        ],
    }
    workflow_id = engine.workflow(spec)
    (failed,) = engine.wait(engine.trigger(workflow_id, {"m": "first"}))
    assert failed.status == "failed"

    # When the workflow is fixed and re-run from the failed step
    with engine.app.app_context():
        wf = db.session.get(Workflow, workflow_id)
        assert wf is not None
        fixed = {
            **spec,
            "steps": [
                spec["steps"][0],
                {
                    "key": "check",
                    "type": "log",
                    "config": {"message": "got {{ steps.effect.marker }}"},
                },
            ],
        }
        stepline = engine.container
        crud.update_workflow(
            db.session(),
            wf,
            WorkflowSpec.model_validate(fixed),
            stepline.secrets,
            stepline.handlers,
        )
    (again,) = engine.wait(_rerun(engine, failed.id, from_failed=True))

    # Then the effect is not repeated, its output is reused, and the runs are linked
    assert again.status == "completed"
    assert again.rerun_of_id == failed.id
    effect, check = engine.steps(again.id)
    assert (effect.status, effect.attempts) == ("completed", 0)
    assert (check.output or {})["message"] == "got first"
    assert len(journal.read_text().splitlines()) == 1


def test_rerun_from_the_start_with_edited_trigger_data(engine: Engine) -> None:
    workflow_id = engine.workflow(
        {
            "name": "again",
            "steps": [{"key": "say", "type": "log", "config": {"message": "{{ trigger.word }}"}}],
        }
    )
    (first,) = engine.wait(engine.trigger(workflow_id, {"word": "one"}))

    (again,) = engine.wait(_rerun(engine, first.id, trigger_data={"word": "two"}))

    assert again.rerun_of_id == first.id
    assert (engine.steps(again.id)[0].output or {})["message"] == "two"
    with pytest.raises(ConflictError):
        _rerun(engine, first.id, from_failed=True)  # nothing failed


def test_retention_prunes_only_old_final_executions(engine: Engine) -> None:
    workflow_id = engine.workflow(
        {"name": "old", "steps": [{"type": "log", "config": {"message": "x"}}]}
    )
    old, recent = engine.wait(engine.trigger(workflow_id), engine.trigger(workflow_id))
    with engine.app.app_context():
        db.session.execute(
            update(Execution)
            .where(Execution.id == old.id)
            .values(created_at=old.created_at - timedelta(days=40))
        )
        db.session.commit()
        runner = engine.app.test_cli_runner()
        result = runner.invoke(args=["prune-executions", "--older-than", "30d"])
        assert result.exit_code == 0, result.output
        assert "deleted 1 executions" in result.output
        assert db.session.get(Execution, old.id) is None
        assert db.session.get(Execution, recent.id) is not None
        assert retention.prune(db.session(), timedelta(days=30)) == 0
