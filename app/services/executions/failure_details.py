"""What a failed run was, for the people and workflows told about it: the error workflow's
trigger data and the notification's words (services.executions.failure_handling)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.engine.resume_urls import DEFAULT_PUBLIC_URL
from app.models import Execution, ExecutionStep
from app.models.base import utcnow
from app.services.workflows import tree
from app.settings import Settings

# The trigger type of a run that failure handling started (its trigger data: `details`).
FAILURE_TRIGGER = "failure"
# How many parents up a run's origin is looked for (child runs nest at most a few deep).
MAX_ANCESTORS = 20


def public_root(settings: Settings) -> str:
    """Where people reach Stepline: STEPLINE_PUBLIC_URL, else the development server."""
    return (settings.public_url or DEFAULT_PUBLIC_URL).rstrip("/")


def execution_url(settings: Settings, execution_id: int) -> str:
    """The absolute URL of an execution's page."""
    return f"{public_root(settings)}/executions/{execution_id}"


def failed_runs_url(settings: Settings, workflow_id: int) -> str:
    """The absolute URL of the workflow's failed runs."""
    return f"{public_root(settings)}/workflows/{workflow_id}/executions?status=failed"


@dataclass(frozen=True)
class FailedStep:
    key: str
    name: str
    type: str
    address: str

    def words(self) -> str:
        """'step 2 “Post to Slack” (slack_message)'."""
        place = tree.words(self.address).lower() if self.address else "a step"
        return f"{place} “{self.name}” ({self.type})"


@dataclass(frozen=True)
class Failure:
    """A failed run, as the error workflow and the notification tell of it."""

    workflow_id: int
    workflow_name: str
    execution_id: int
    url: str
    error: str
    step: FailedStep | None
    trigger_type: str
    started_at: str | None
    finished_at: str | None
    trigger_data: dict[str, Any]

    def as_trigger_data(self) -> dict[str, Any]:
        """The error workflow's trigger data (documented in OnFailure.workflow_id)."""
        step = self.step
        return {
            "workflow": {"id": self.workflow_id, "name": self.workflow_name},
            "execution": {
                "id": self.execution_id,
                "url": self.url,
                "trigger_type": self.trigger_type,
                "started_at": self.started_at,
                "finished_at": self.finished_at,
            },
            "failed_step": (
                {"key": step.key, "name": step.name, "type": step.type, "address": step.address}
                if step
                else None
            ),
            "error": self.error,
            "trigger_data": self.trigger_data,
        }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _failed_step(session: Session, execution: Execution) -> FailedStep | None:
    """The step the run failed on: the failed step run at the run's cursor, else its latest
    failed step run (a run failed by its time limit may have none)."""
    rows = session.execute(
        select(
            ExecutionStep.action_key,
            ExecutionStep.action_type,
            ExecutionStep.address,
            ExecutionStep.position,
            ExecutionStep.frame,
            ExecutionStep.finished_at,
        )
        .where(ExecutionStep.execution_id == execution.id, ExecutionStep.status == "failed")
        .order_by(ExecutionStep.finished_at.desc(), ExecutionStep.id.desc())
    ).all()
    if not rows:
        return None
    at_cursor = [r for r in rows if (r.position, r.frame) == (execution.position, execution.frame)]
    row = (at_cursor or rows)[0]
    actions: Sequence[Any] = (execution.snapshot or {}).get("actions") or []
    place = tree.find(actions, row.action_key)
    name = str(place.step.get("name") or row.action_key) if place else row.action_key
    address = row.address or (tree.address(actions, row.action_key) if place else "")
    return FailedStep(row.action_key, name, row.action_type, address)


def failure_of(session: Session, execution: Execution, settings: Settings) -> Failure:
    """The failed run's details."""
    step = _failed_step(session, execution)
    workflow = (execution.snapshot or {}).get("workflow") or {}
    error = execution.error or "The run failed."
    return Failure(
        workflow_id=execution.workflow_id,
        workflow_name=str(workflow.get("name") or f"Workflow {execution.workflow_id}"),
        execution_id=execution.id,
        url=execution_url(settings, execution.id),
        error=error,
        step=step,
        trigger_type=execution.trigger_type,
        started_at=_iso(execution.started_at),
        finished_at=_iso(execution.finished_at or utcnow()),
        trigger_data=dict(execution.trigger_data or {}),
    )


def started_by_failure(session: Session, execution: Execution) -> bool:
    """Whether failure handling started this run, or a run above it (a child run's parents):
    such a run starts no error workflow when it fails, so no chain of failures can loop."""
    trigger_type, parent_id = execution.trigger_type, execution.parent_execution_id
    for _ in range(MAX_ANCESTORS):
        if trigger_type == FAILURE_TRIGGER:
            return True
        if parent_id is None:
            return False
        row = session.execute(
            select(Execution.trigger_type, Execution.parent_execution_id).where(
                Execution.id == parent_id
            )
        ).first()
        if row is None:
            return False
        trigger_type, parent_id = row.trigger_type, row.parent_execution_id
    return True  # deeper than any chain of child runs may be: treat as a loop
