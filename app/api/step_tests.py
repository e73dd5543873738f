"""Test one step of a saved workflow with given data, as the editor's "Test this step" does."""

from __future__ import annotations

from flask import Response

from app.api.blueprint import bp
from app.api.bodies import parse_optional_body
from app.api.schemas import StepTestRequest, StepTestResult, respond
from app.api.workflows import WORKFLOW_ID, find_workflow
from app.extensions import container, db
from app.services.workflows import trials


@bp.post(f"/workflows/{WORKFLOW_ID}/steps/<string(maxlength=64):key>/test")
def step_test(workflow_id: int, key: str) -> Response:
    """Run one step now on the given data; nothing is recorded."""
    workflow = find_workflow(workflow_id)
    body = parse_optional_body(StepTestRequest)
    trial = trials.test_saved_step(
        db.session(), workflow, key, body.trigger, body.steps, container().runner
    )
    status = "failed" if trial.error is not None else "stopped" if trial.stopped else "completed"
    return respond(
        StepTestResult(
            status=status,
            input=trial.input,
            output=trial.output,
            error=trial.error,
            duration_ms=round(trial.seconds * 1000),
        )
    )
