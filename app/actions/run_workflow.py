"""Call another workflow: start a run of one of the user's workflows (a child run) with data
from templates, then wait for its result or go on at once.

The run is started through `StepContext.start_child` (app.engine.children; the services do
the checks: the user's workflow, the depth limit, one child per step run). Waiting is a wait
of kind "child" (app.engine.errors.Wait): no worker is held; the child's end resumes this step
with `{"kind": "child", "child": {execution_id, status, output, error, workflow}}`
(services.executions.parent_resume), and the step runs again to turn that into its output or
its failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from app.actions import wait_timeouts
from app.actions.base import ActionConfig, BaseActionHandler, workflow_field
from app.engine.children import RUN_WORKFLOW, WAIT_KIND, ChildStarted
from app.engine.context import StepContext
from app.engine.errors import ActionError, Wait


class RunWorkflowConfig(ActionConfig):
    workflow_id: int = workflow_field(
        description="The workflow to run. It runs its saved version, even while it is not "
        "active, and its trigger is not used: the data below is its trigger data."
    )
    data: dict[str, Any] = Field(
        default_factory=dict,
        title="Data",
        description="The called workflow's trigger data: it reads {{ trigger.<name> }}. Each "
        "value is a template or JSON.",
    )
    wait: bool = Field(
        True,
        title="Wait for its result",
        description="Wait until the called workflow ends: the output of its last step becomes "
        "this step's output, and its failure fails this step. Unticked: go on at once with "
        "the new run's id.",
    )
    timeout: float = Field(
        1,
        gt=0,
        title="Stop waiting after",
        description="When waiting: the step fails if the called workflow has not ended by "
        "then (at most 30 days). The called run goes on.",
    )
    timeout_unit: Literal["minutes", "hours", "days"] = Field("days", title="Unit")

    @model_validator(mode="after")
    def _at_most_30_days(self) -> RunWorkflowConfig:
        if wait_timeouts.too_long(self.timeout, self.timeout_unit):
            raise ValueError("The wait for the called workflow can be at most 30 days.")
        return self


class RunWorkflowAction(BaseActionHandler):
    """Run another of your workflows with data from this one, and wait for its result or go
    on at once."""

    type = RUN_WORKFLOW
    category = "Flow"
    name = "Call another workflow"
    description = (
        "Run another of your workflows with data from this one; wait for its result (its "
        "last step's output) or go on at once with the new run's id."
    )
    Config = RunWorkflowConfig

    def execute(self, context: StepContext, config: RunWorkflowConfig) -> dict[str, Any]:
        resume = context.resume
        if resume is not None:
            return _resumed(resume, config)
        child = context.start_child(config.workflow_id, config.data)
        if not config.wait:
            return _started(child)
        until = wait_timeouts.deadline(config.timeout, config.timeout_unit)
        raise Wait(WAIT_KIND, until, _links(child))


def _links(child: ChildStarted) -> dict[str, Any]:
    links: dict[str, Any] = {
        "child_execution_id": child.execution_id,
        "workflow_id": child.workflow_id,
        "workflow": child.workflow_name,
    }
    if not child.enabled:
        links["note"] = (
            f"“{child.workflow_name}” is not active; called, it runs its saved version anyway."
        )
    return links


def _started(child: ChildStarted) -> dict[str, Any]:
    """The output when the step does not wait: the child run it started."""
    return {"execution_id": child.execution_id, "status": "started", **_links(child)}


def _resumed(resume: Mapping[str, Any], config: RunWorkflowConfig) -> dict[str, Any]:
    """The step's output once its wait ended: the child's result, or its failure."""
    kind = resume.get("kind")
    found = resume.get("child")
    child: dict[str, Any] = found if isinstance(found, dict) else {}
    run_id = child.get("execution_id")
    name = child.get("workflow") or f"workflow {config.workflow_id}"
    if kind == WAIT_KIND and child.get("status") == "completed":
        output = child.get("output")
        result = dict(output) if isinstance(output, dict) else {"output": output}
        return {**result, "child_execution_id": run_id}
    if kind == WAIT_KIND:
        reason = child.get("error") or f"it ended {child.get('status') or 'without a result'}"
        raise ActionError(
            f"The called workflow “{name}” failed (run #{run_id}): {reason}", retryable=False
        )
    if kind == "timeout":
        amount = f"{config.timeout:g} {config.timeout_unit}"
        if config.timeout == 1:
            amount = amount.rstrip("s")
        raise ActionError(
            f"The called workflow did not end within {amount}; its run goes on.",
            retryable=False,
        )
    # Resumed by the owner ("Resume now"): what they gave is the output.
    data = {k: v for k, v in resume.items() if k != "kind"}
    return {**data, "resumed_without_result": True}
