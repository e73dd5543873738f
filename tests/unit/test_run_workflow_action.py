"""The `run_workflow` action alone (app/actions/run_workflow.py): what it asks to start, how it
waits, and how what resumed it becomes its output or its failure. The start itself is a
stand-in here (the services' ChildStarter is tested end to end in
tests/integration/test_run_workflow.py)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from app.actions.run_workflow import RunWorkflowAction, RunWorkflowConfig
from app.config import build
from app.engine.children import ChildRequest, ChildStarted
from app.engine.errors import ActionError, ConfigError, Wait
from tests.fakes.context import make_step_context

SETTINGS = build({"SECRET_KEYS": Fernet.generate_key().decode()})


class Starts:
    """Records the child runs asked for; answers with run #90 of “Invoice”."""

    def __init__(self, enabled: bool = True) -> None:
        self.requests: list[ChildRequest] = []
        self.enabled = enabled

    def __call__(self, request: ChildRequest) -> ChildStarted:
        self.requests.append(request)
        return ChildStarted(90, request.workflow_id, "Invoice", "pending", 1, enabled=self.enabled)


def execute(
    config: dict[str, Any], *, resume: dict[str, Any] | None = None, starts: Starts | None = None
) -> dict[str, Any]:
    context = dataclasses.replace(
        make_step_context(SETTINGS, execution_id=12), children=starts, resume=resume
    )
    context = dataclasses.replace(context, frame="3.1", position=4)
    return RunWorkflowAction().execute(context, RunWorkflowConfig.model_validate(config))


def test_not_waiting_it_starts_the_child_and_goes_on_with_its_id() -> None:
    starts = Starts(enabled=False)

    output = execute({"workflow_id": 5, "data": {"n": 1}, "wait": False}, starts=starts)

    assert starts.requests == [
        ChildRequest(
            parent_execution_id=12, position=4, frame="3.1", user_id=1, workflow_id=5, data={"n": 1}
        )
    ]
    assert output == {
        "execution_id": 90,
        "status": "started",
        "child_execution_id": 90,
        "workflow_id": 5,
        "workflow": "Invoice",
        "note": "“Invoice” is not active; called, it runs its saved version anyway.",
    }


def test_waiting_it_starts_the_child_and_waits_for_it_until_the_timeout() -> None:
    before = datetime.now(UTC)

    with pytest.raises(Wait) as waited:
        execute({"workflow_id": 5, "timeout": 2, "timeout_unit": "hours"}, starts=Starts())

    assert waited.value.kind == "child"
    assert waited.value.output == {
        "child_execution_id": 90,
        "workflow_id": 5,
        "workflow": "Invoice",
    }
    assert (
        before + timedelta(hours=2) <= waited.value.until <= datetime.now(UTC) + timedelta(hours=2)
    )


def child(status: str, **fields: Any) -> dict[str, Any]:
    return {
        "kind": "child",
        "child": {"execution_id": 90, "status": status, "workflow": "Invoice", **fields},
    }


def test_resumed_by_a_completed_child_its_last_output_is_the_steps() -> None:
    starts = Starts()

    output = execute(
        {"workflow_id": 5}, resume=child("completed", output={"total": 3}), starts=starts
    )

    assert output == {"total": 3, "child_execution_id": 90}
    assert starts.requests == []  # resumed: nothing is started again
    listed = execute({"workflow_id": 5}, resume=child("completed", output=[1, 2]))
    assert listed == {"output": [1, 2], "child_execution_id": 90}


@pytest.mark.parametrize(
    ("status", "error", "reason"),
    [
        ("failed", "Step 'x' failed: boom", "Step 'x' failed: boom"),
        ("cancelled", "Cancelled by a user.", "Cancelled by a user."),
        ("cancelled", None, "it ended cancelled"),
    ],
)
def test_resumed_by_a_failed_or_cancelled_child_the_step_fails_without_retry(
    status: str, error: str | None, reason: str
) -> None:
    with pytest.raises(ActionError) as failed:
        execute({"workflow_id": 5}, resume=child(status, error=error))

    assert str(failed.value) == f"The called workflow “Invoice” failed (run #90): {reason}"
    assert failed.value.retryable is False


def test_a_timeout_fails_the_step_without_retry() -> None:
    with pytest.raises(ActionError) as failed:
        execute({"workflow_id": 5}, resume={"kind": "timeout", "timed_out": True, "at": "x"})

    assert str(failed.value) == "The called workflow did not end within 1 day; its run goes on."
    assert failed.value.retryable is False


def test_resumed_by_its_owner_it_goes_on_with_what_they_gave() -> None:
    output = execute(
        {"workflow_id": 5}, resume={"kind": "call", "by_owner": "a@example.com", "total": 1}
    )

    assert output == {"by_owner": "a@example.com", "total": 1, "resumed_without_result": True}


def test_where_no_run_can_be_started_the_step_fails_clearly() -> None:
    with pytest.raises(ConfigError, match="cannot be started from here"):
        execute({"workflow_id": 5, "wait": False}, starts=None)


def test_the_wait_is_at_most_30_days() -> None:
    RunWorkflowConfig.model_validate({"workflow_id": 1, "timeout": 30, "timeout_unit": "days"})
    with pytest.raises(ValidationError, match="at most 30 days"):
        RunWorkflowConfig.model_validate(
            {"workflow_id": 1, "timeout": 721, "timeout_unit": "hours"}
        )
    with pytest.raises(ValidationError):
        RunWorkflowConfig.model_validate({"workflow_id": 1, "timeout": 0})
    with pytest.raises(ValidationError):
        RunWorkflowConfig.model_validate({"data": {}})  # the workflow is required
