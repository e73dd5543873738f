"""Execution use cases: trigger, cancel, re-run (from the start or from the failed step)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app.engine import time_limits
from app.engine.errors import TemplateError
from app.engine.ledger.portable import end_running_attempt
from app.engine.ledger.sql import notify_finished
from app.engine.program import Program
from app.engine.runner import Send, ring
from app.engine.templating import Renderer
from app.models import (
    Execution,
    ExecutionStatus,
    ExecutionStep,
    StepStatus,
    Workflow,
    storable,
)
from app.models.base import rowcount, utcnow
from app.models.deadlocks import again_after_deadlock
from app.services.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    found_id,
)
from app.services.executions import parent_resume, reuse_runs
from app.services.executions.admission import Admission
from app.services.workflows.crud import snapshot as workflow_snapshot
from app.settings import Settings

_renderer = Renderer(cpu_seconds=0.5)
RUN_KEY_LENGTH = 255


def get_execution(session: Session, execution_id: int, owner_id: int) -> Execution:
    """The user's execution, or NotFoundError (also for another user's execution)."""
    found_id(execution_id, f"execution {execution_id}", bits=63)
    execution = session.scalar(
        select(Execution).where(Execution.id == execution_id, Execution.user_id == owner_id)
    )
    if execution is None:
        raise NotFoundError(f"execution {execution_id}")
    return execution


def _run_key(
    workflow: Workflow, data: Mapping[str, Any], execution_vars: dict[str, Any]
) -> str | None:
    if not workflow.run_key_template:
        return None
    variables = {"trigger": data, "steps": {}, **execution_vars}
    try:
        value = _renderer.render(workflow.run_key_template, variables, "run_key", text=True)
    except TemplateError:
        return None
    return str(value)[:RUN_KEY_LENGTH] or None


def trigger_json(data: Mapping[str, Any], settings: Settings) -> str:
    """The trigger data as JSON text, refused when it holds a value no database stores (400
    naming its path) or when the text is over MAX_PAYLOAD_BYTES (characters of the JSON text,
    non-ASCII escaped: every part of the data counts, headers included)."""
    limit = settings.max_payload_bytes
    try:
        text = storable.dumps(data)
    except storable.UnstorableError as exc:
        raise BadRequestError(exc.found.sentence(), exc.found.path) from None
    if len(text) > limit:
        raise PayloadTooLargeError(
            f"The trigger data is {len(text)} bytes, over the cap of {limit} bytes."
        )
    return text


@dataclass(frozen=True)
class _Plan:
    """A new execution as rows: its columns, and its steps' columns (without the id)."""

    values: dict[str, Any]
    steps: list[dict[str, Any]]
    first: int  # the position the run starts at
    frame: str  # and the loop iterations around it ("" at top level)
    done: bool  # nothing to run (every step reused or disabled)
    trigger_json: str  # values["trigger_data"] as JSON text (measured against the cap)


def _plan(
    workflow: Workflow,
    data: Mapping[str, Any],
    settings: Settings,
    trigger_type: str | None,
    rerun_of: Execution | None,
    reuse: Mapping[reuse_runs.RunKey, reuse_runs.Reused] | None,
    snapshot: dict[str, Any] | None = None,
    dry_run: bool = False,
) -> _Plan:
    text = trigger_json(data, settings)
    frozen = workflow_snapshot(workflow) if snapshot is None else snapshot
    program = Program(frozen["actions"])
    steps, cursor = reuse_runs.replay(program, reuse or {})
    done = cursor is None
    first, frame = cursor or (len(program), "")
    values = columns(workflow, frozen, data, settings, trigger_type, first, frame, done)
    values.update(trigger_data=dict(data), rerun_of_id=rerun_of.id if rerun_of else None)
    values["dry_run"] = dry_run
    return _Plan(values, steps, first, frame, done, text)


def columns(
    workflow: Workflow,
    frozen: dict[str, Any],
    data: Mapping[str, Any],
    settings: Settings,
    trigger_type: str | None,
    first: int,
    frame: str,
    done: bool,
) -> dict[str, Any]:
    """A new execution's columns but its trigger data, re-run and dry-run marks."""
    now = utcnow()
    lease = timedelta(seconds=settings.execution_lease_seconds)
    return {
        "workflow_id": workflow.id,
        "user_id": workflow.user_id,
        "status": "completed" if done else "pending",
        "trigger_type": trigger_type or frozen["trigger"]["type"],
        "snapshot": frozen,
        "workflow_version": workflow.version,
        "position": first,
        "frame": frame,
        "run_key": _run_key(workflow, data, {"execution": {}, "workflow": frozen["workflow"]}),
        "created_at": now,
        "updated_at": now,
        "started_at": now if done else None,
        "finished_at": now if done else None,
        "lease_expires_at": None if done else now + lease,
        # The run's time limit (app.engine.time_limits): the scheduler fails it past this.
        "deadline_at": None if done else time_limits.run_deadline(frozen, now),
    }


def start(
    session: Session,
    workflow: Workflow,
    data: Mapping[str, Any],
    *,
    send: Send,
    settings: Settings,
    trigger_type: str | None = None,
    rerun_of: Execution | None = None,
    reuse: Mapping[reuse_runs.RunKey, reuse_runs.Reused] | None = None,
    record: Callable[[Session, Execution], None] | None = None,
    snapshot: dict[str, Any] | None = None,
    dry_run: bool = False,
) -> Execution:
    """Create an execution with its snapshot and steps, commit, then ring the doorbell.

    `snapshot` runs that definition instead of the saved one (the editor's test of a draft).
    `dry_run`: steps that send record the request they would send instead (app.engine.dry_run).
    `reuse` (app.services.executions.reuse_runs: step runs of an earlier execution, by step key
    and iteration) marks those runs done without running them; the run resumes at the first
    run that is not reused.
    `record` runs once the execution has its id, before the commit: what it adds to the session
    (a webhook's idempotency key, a schedule's fired slot) commits with the execution or not at all.
    """
    plan = _plan(workflow, data, settings, trigger_type, rerun_of, reuse, snapshot, dry_run)
    execution = Execution(**plan.values)
    session.add(execution)
    session.flush()
    execution_id = execution.id  # read before the commit expires it: no reload to send
    if plan.steps:
        rows = [
            {**step, "execution_id": execution_id, "attempts": 0, "attempt_log": []}
            for step in plan.steps
        ]
        session.execute(insert(ExecutionStep), rows)
    if record is not None:
        record(session, execution)
    session.commit()
    _ring(plan, execution_id, send)
    return execution


def _ring(plan: _Plan, execution_id: int, send: Send) -> None:
    """Send a stored execution's first message (none when nothing runs)."""
    if not plan.done:
        ring(send, execution_id, plan.first, 1, 0.0, plan.frame)


def cancel(
    session: Session,
    execution: Execution,
    *,
    send: Send | None = None,
    settings: Settings | None = None,
) -> Execution:
    """Stop a live execution; its queued messages then do nothing. A child run's parent
    step, waiting for it, is resumed with its end (when `send` and `settings` are given).

    The cancel locks the execution, then its steps; a worker recording a step locks that
    step, then the execution. When the two meet, PostgreSQL ends one of them as a deadlock:
    the cancel is then tried again (app.models.deadlocks), as the worker's record is."""
    execution_id = execution.id
    again_after_deadlock(
        lambda: _cancel_once(session, execution_id),
        session.rollback,
        f"cancel of execution {execution_id}",
    )
    session.refresh(execution)
    if execution.parent_execution_id is not None and send is not None and settings is not None:
        lease = timedelta(seconds=settings.execution_lease_seconds)
        parent_resume.resume_parent(session.get_bind(), send, lease, execution.id)  # type: ignore[arg-type]
    return execution


def _cancel_once(session: Session, execution_id: int) -> None:
    now = utcnow()
    changed = rowcount(
        session.execute(
            update(Execution)
            .where(Execution.id == execution_id, Execution.status.in_(ExecutionStatus.LIVE))
            .values(
                status="cancelled",
                finished_at=now,
                updated_at=now,
                lease_expires_at=None,
                error="Cancelled by a user.",
            )
        )
    )
    if changed != 1:
        session.rollback()
        raise ConflictError("Only a pending, running or waiting execution can be cancelled.")
    session.execute(
        update(ExecutionStep)
        .where(
            ExecutionStep.execution_id == execution_id,
            ExecutionStep.status.in_((StepStatus.PENDING, StepStatus.WAITING)),
        )
        .values(status="skipped", next_retry_at=None)
    )
    end_running_attempt(session.connection(), execution_id, now)
    notify_finished(session.connection(), execution_id)  # wait-mode webhooks answer now
    session.commit()


def rerun(
    session: Session,
    execution: Execution,
    workflow: Workflow,
    *,
    send: Send,
    settings: Settings,
    from_failed: bool = False,
    trigger_data: Mapping[str, Any] | None = None,
    dry_run: bool | None = None,
) -> Execution:
    """Run the workflow's current definition again with the same (or edited) trigger data.

    From the failed step: the runs before it are reused (app.services.executions.reuse_runs:
    earlier steps, earlier iterations, the branch taken), matched by step key and iteration,
    so steps that already had their effect are not run again (a step its "Run only if" skipped
    stays skipped); the failed iteration resumes at the failed step. `dry_run` None: a dry run again
    when the execution was one; a dry run's outputs were not sent, so it is never re-run for
    real from its failed step."""
    if execution.status in ExecutionStatus.LIVE:
        raise ConflictError("The execution is still running; cancel it first or wait.")
    dry = execution.dry_run if dry_run is None else dry_run
    if from_failed and execution.dry_run and not dry:
        raise ConflictError("A dry run sent nothing: run it for real from the first step.")
    reuse: dict[reuse_runs.RunKey, reuse_runs.Reused] = {}
    if from_failed:
        if execution.status != "failed":
            raise ConflictError("Only a failed execution can be re-run from its failed step.")
        steps = session.execute(
            select(
                ExecutionStep.position,
                ExecutionStep.frame,
                ExecutionStep.status,
                ExecutionStep.input,
                ExecutionStep.output,
            ).where(ExecutionStep.execution_id == execution.id)
        ).all()
        reuse = reuse_runs.reusable(Program(execution.snapshot["actions"]), steps)
    data = execution.trigger_data if trigger_data is None else trigger_data
    return start(
        session,
        workflow,
        data,
        send=send,
        settings=settings,
        trigger_type=execution.trigger_type,
        rerun_of=execution,
        reuse=reuse,
        dry_run=dry,
    )


def trigger(
    session: Session,
    workflow: Workflow,
    data: Mapping[str, Any],
    *,
    send: Send,
    settings: Settings,
    record: Callable[[Session, Execution], None] | None = None,
    admission: Admission | None = None,
    dry_run: bool = False,
) -> Execution:
    """Start an execution on request (the API's trigger); a disabled workflow does not run,
    and while the step queue is over its limit `admission` refuses with TooManyRequestsError.
    A dry run sends nothing, so it runs a disabled workflow too.

    `record` is start's: it commits with the execution (the request's idempotency answer)."""
    if not (workflow.enabled or dry_run):
        raise ConflictError("The workflow is disabled; enable it before triggering it.")
    if admission is not None:
        admission.check_queue()
    return start(
        session,
        workflow,
        data,
        send=send,
        settings=settings,
        trigger_type="api",
        record=record,
        dry_run=dry_run,
    )
