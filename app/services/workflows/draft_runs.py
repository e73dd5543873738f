"""Test the whole workflow from the editor: a real execution of the current draft.

The editor's "Test workflow" runs what the user sees, unsaved changes included, through the
path every run takes (lifecycle.start → the queue → Runner), with the trigger's sample data.
The execution is marked as a test run (trigger type `test`): it is listed with the others, but
it never counts as the trigger firing. Its snapshot is built from the draft, so saving is not
needed first and a run in flight is never changed by later edits.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.crypto import SecretBox
from app.engine import dry_run as dry_run_outputs
from app.engine.registry import ActionRegistry
from app.engine.runner import Send
from app.models import Execution, ExecutionStep, Workflow
from app.models.executions import ExecutionStatus
from app.services.errors import InvalidInputError, NotFoundError
from app.services.executions import lifecycle
from app.services.workflows import drafts, flow_rules, tree
from app.services.workflows.flow_rules import LOOP, PATHS
from app.services.workflows.specs import WorkflowSpec
from app.services.workflows.step_checks import issues_of
from app.settings import Settings

TEST_TRIGGER = "test"
FINAL = tuple(str(s) for s in ExecutionStatus.FINAL)


def snapshot_of(workflow: Workflow, draft: drafts.Draft) -> dict[str, Any]:
    """The frozen definition of the draft, in the shape of crud.snapshot."""
    trigger = draft.trigger
    return {
        "workflow": {
            "id": workflow.id,
            "name": str(draft.spec.get("name") or workflow.name),
            "version": workflow.version,
            "settings": dict(draft.spec.get("settings") or workflow.settings or {}),
        },
        "trigger": {
            "type": str(trigger.get("type") or "manual"),
            "config": dict(trigger.get("config") or {}),
        },
        "actions": [_action(step) for step in draft.steps],
    }


def _action(step: dict[str, Any]) -> dict[str, Any]:
    """A draft step as a snapshot's action dict; a loop's or paths step's lists nested."""
    action = {
        "key": step["key"],
        "type": step["type"],
        "name": step.get("name") or step["key"],
        "config": dict(step.get("config") or {}),
        "retry": dict(step.get("retry") or {}),
        "enabled": bool(step.get("enabled", True)),
        "continue_on_error": bool(step.get("continue_on_error", False)),
        "run_if": step.get("run_if") or None,
    }
    if step.get("type") == LOOP:
        action["steps"] = [_action(inner) for inner in step.get("steps") or []]
    if step.get("type") == PATHS:
        action["branches"] = [
            {
                "key": branch.get("key"),
                "name": branch.get("name"),
                "condition": branch.get("condition"),
                "steps": [_action(inner) for inner in branch.get("steps") or []],
            }
            for branch in step.get("branches") or []
        ]
        otherwise = step.get("otherwise")
        action["otherwise"] = (
            {
                "name": otherwise.get("name") or "Otherwise",
                "steps": [_action(inner) for inner in otherwise.get("steps") or []],
            }
            if isinstance(otherwise, dict)
            else None
        )
    return action


def problems(draft: drafts.Draft, secrets: SecretBox, actions: ActionRegistry) -> list[str]:
    """Why the draft cannot be tested as a whole, in words ("Step 2 (Filter): …")."""
    try:
        WorkflowSpec.model_validate(draft.spec)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        return [f"{where}: {error['msg']}"]
    try:
        flow_rules.settle_steps(copy.deepcopy(draft.steps), None)
    except InvalidInputError as exc:
        return [f"{exc.field}: {exc.message}"]
    found = []
    for place in tree.walk(draft.steps):
        step = place.step
        if not step.get("enabled", True):
            continue
        issues = issues_of(draft.steps, str(step["key"]), secrets, actions)
        if issues:
            name = step.get("name") or step["key"]
            where = tree.words(tree.address(draft.steps, str(step["key"])))
            found.append(f"{where} ({name}): {issues[0]}")
    if not draft.steps:
        found.append("Add a step first: there is nothing to test.")
    return found


def start(
    session: Session,
    workflow: Workflow,
    *,
    send: Send,
    settings: Settings,
    secrets: SecretBox,
    actions: ActionRegistry,
    dry_run: bool = False,
) -> Execution:
    """Start a test run of the draft with the trigger's sample data (InvalidInputError, in
    words, while a step has errors); `dry_run`: steps that send only record their request."""
    draft = drafts.load(session, workflow)
    found = problems(draft, secrets, actions)
    if found:
        raise InvalidInputError(found[0])
    sample = draft.trigger.get("sample_data")
    return lifecycle.start(
        session,
        workflow,
        sample if isinstance(sample, dict) else {},
        send=send,
        settings=settings,
        trigger_type=TEST_TRIGGER,
        snapshot=snapshot_of(workflow, draft),
        dry_run=dry_run,
    )


@dataclass(frozen=True)
class StepResult:
    key: str
    name: str
    type: str
    number: int
    status: str
    output: dict[str, Any] | None
    error: str | None
    milliseconds: int | None


@dataclass(frozen=True)
class Progress:
    """A test run as the editor shows it: its status and each step's result so far."""

    execution_id: int
    status: str
    error: str | None
    steps: Sequence[StepResult]
    dry_run: bool = False

    @property
    def is_live(self) -> bool:
        return self.status not in FINAL

    @property
    def done(self) -> int:
        return sum(1 for s in self.steps if s.status in ("completed", "failed", "skipped"))


def progress(session: Session, workflow: Workflow, execution_id: int) -> Progress:
    """The test run's state; NotFoundError unless it is a test run of this workflow."""
    execution = session.scalar(
        select(Execution).where(
            Execution.id == execution_id,
            Execution.workflow_id == workflow.id,
            Execution.user_id == workflow.user_id,
            Execution.trigger_type == TEST_TRIGGER,
        )
    )
    if execution is None:
        raise NotFoundError(f"test run {execution_id}")
    names = {a["key"]: a.get("name") or a["key"] for a in execution.snapshot.get("actions", [])}
    rows = session.scalars(
        select(ExecutionStep)
        .where(ExecutionStep.execution_id == execution_id)
        .order_by(ExecutionStep.position)
    )
    steps = []
    for row in rows:
        took = None
        if row.started_at and row.finished_at:
            took = max(0, round((row.finished_at - row.started_at).total_seconds() * 1000))
        steps.append(
            StepResult(
                row.action_key,
                str(names.get(row.action_key, row.action_key)),
                row.action_type,
                row.position + 1,
                row.status,
                row.output,
                row.error,
                took,
            )
        )
    return Progress(execution.id, execution.status, execution.error, steps, execution.dry_run)


def use_outputs_as_samples(
    session: Session, workflow: Workflow, execution_id: int, keys: Sequence[str] | None = None
) -> list[str]:
    """Make a test run's outputs the steps' samples in the draft: of the steps `keys`, or of
    every step that completed. Returns the keys used (steps gone from the draft are left)."""
    run = progress(session, workflow, execution_id)
    outputs = {
        s.key: s.output
        for s in run.steps
        if s.status == "completed" and s.output is not None and not _not_sent(run, s.output)
    }
    if keys is not None:
        missing = [k for k in keys if k not in outputs]
        if missing:
            raise NotFoundError(f"output of step {missing[0]!r} in test run {execution_id}")
        outputs = {k: outputs[k] for k in keys}
    draft = drafts.load(session, workflow, for_update=True)
    used = [k for k in outputs if k in draft.keys()]
    for key in used:
        draft.samples[key] = outputs[key]
    if used:
        drafts.store(session, draft)
    return used


def _not_sent(run: Progress, output: dict[str, Any]) -> bool:
    """A dry run's record of a request it did not send: not what the step outputs."""
    return run.dry_run and output.get("dry_run") in dry_run_outputs.MARKERS
