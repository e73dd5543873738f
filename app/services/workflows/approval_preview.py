"""The editor's preview of an approval step's page: the step of the draft rendered with the
sample data its panel offers (services.workflows.trials: the trigger's sample, earlier steps'
test outputs), no run needed. A template that cannot render with the sample data yet is shown
as written."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.actions.approval import KIND, ApprovalConfig, timeout_seconds
from app.engine.errors import TemplateError
from app.engine.templating import Renderer
from app.models import Workflow
from app.models.base import utcnow
from app.services.errors import NotFoundError
from app.services.executions.approvals import ApprovalRequest, text_of
from app.services.workflows import drafts, trials

_renderer = Renderer(cpu_seconds=0.5)
NO_TITLE = "(No title yet: set one in the step's panel)"


def _shown(value: Any, variables: dict[str, Any], where: str) -> Any:
    """The value rendered with the sample data, or as written when it cannot be yet."""
    try:
        return _renderer.render(value, variables, where, text=isinstance(value, str))
    except TemplateError:
        return value


def preview(session: Session, workflow: Workflow, key: str) -> ApprovalRequest:
    """The approval page of step `key` of the workflow's draft, with sample values;
    NotFoundError when there is no such step or it is not an approval step."""
    draft = drafts.load(session, workflow)
    step = draft.step(key)
    if step.get("type") != KIND:
        raise NotFoundError(f"approval step {key!r} of workflow {workflow.id}")
    reads = trials.available(session, workflow, draft, key)
    name = str(draft.spec.get("name") or workflow.name)
    variables: dict[str, Any] = {
        "trigger": reads.trigger,
        "steps": reads.step_outputs(),
        "execution": {"id": trials.TEST_EXECUTION_ID},
        "workflow": {"id": workflow.id, "name": name},
    }
    loop = trials.loop_variables(reads.loops)
    if loop is not None:
        variables["loop"] = loop
    config = step.get("config") or {}
    fields = config.get("fields")
    if not isinstance(fields, dict):
        fields = {}
    now = utcnow()
    return ApprovalRequest(
        execution_id=trials.TEST_EXECUTION_ID,
        step_id=0,
        workflow_name=name,
        started_at=now,
        title=text_of(_shown(config.get("title") or "", variables, "config.title")) or NO_TITLE,
        message=text_of(_shown(config.get("message") or "", variables, "config.message")),
        fields=tuple(
            (str(label), text_of(_shown(value, variables, f"config.fields.{label}")))
            for label, value in fields.items()
        ),
        state="waiting",
        until=_until(config, now),
        reject_ends_run=config.get("on_reject", "fail") == "fail",
    )


def _until(config: dict[str, Any], now: datetime) -> datetime | None:
    """When the request would time out, if the step's timeout is valid as written."""
    try:
        seconds = timeout_seconds(ApprovalConfig.model_validate({**config, "title": "-"}))
    except (ValidationError, TypeError):
        return None
    return now + timedelta(seconds=seconds)
