"""Executions: trigger a workflow, list and filter runs, show one with its steps, cancel, re-run,
delete, and re-run the failures a filter matches.

An execution's canonical URL is /api/v1/executions/{id}; the original paths under
/api/v1/workflows/executions/ answer too (ALIASES, at the end), undocumented."""

from __future__ import annotations

from flask import Response, url_for
from sqlalchemy.orm import Session

from app.api import auth, filters
from app.api.blueprint import bp
from app.api.bodies import parse_optional_body
from app.api.idempotency import answer_with, idempotent
from app.api.pagination import keyset_page, page_request
from app.api.schemas import (
    BulkRerunRequest,
    BulkRerunResult,
    ExecutionList,
    ExecutionOut,
    ExecutionStarted,
    ExecutionSummary,
    RerunRequest,
    TriggerData,
    WaitingOut,
    no_content,
    respond,
)
from app.api.step_results import AttemptResult, IterationRef, StepResult
from app.api.workflows import WORKFLOW_ID, find_workflow
from app.engine.program import Program, frame_iterations, history_key
from app.extensions import container, db
from app.models import Execution, ExecutionStatus, ExecutionStep
from app.services.executions import bulk_rerun, lifecycle, retention, waiting
from app.services.executions.admission import tolerant
from app.services.executions.attempt_history import AttemptLine, attempt_lines
from app.services.executions.filtering import ExecutionFilter, select_executions
from app.services.executions.queries import DashboardFilter
from app.services.executions.step_views import program_of
from app.services.workflows import crud

EXECUTION_ID = "<int:execution_id>"  # see WORKFLOW_ID


def _duration_ms(step: ExecutionStep) -> int | None:
    if step.started_at is None or step.finished_at is None:
        return None
    return max(0, round((step.finished_at - step.started_at).total_seconds() * 1000))


def _attempt(line: AttemptLine) -> AttemptResult:
    seconds = line.seconds
    return AttemptResult(
        attempt=line.attempt,
        started_at=line.started_at,
        finished_at=line.finished_at,
        duration_ms=None if seconds is None else round(seconds * 1000),
        error=line.error,
        ended_by=line.ended_by,
        waiting_for=line.waiting_for,
        waiting_until=line.waiting_until,
    )


def step_result(step: ExecutionStep, program: Program) -> StepResult:
    attempts = [_attempt(line) for line in attempt_lines(step)]
    nodes = program.nodes
    node = nodes[step.position] if step.position < len(nodes) else None
    iteration = [
        IterationRef(loop=nodes[loop].key if loop < len(nodes) else str(loop), index=index)
        for loop, index in frame_iterations(step.frame)
    ]
    return StepResult(
        position=step.position,
        address=step.address or (node.address if node else str(step.position + 1)),
        frame=step.frame,
        iteration=iteration,
        key=step.action_key,
        type=step.action_type,
        status=step.status,
        attempts=len(attempts),
        attempt_log=attempts,
        input=step.input,
        output=step.output,
        error=step.error,
        started_at=step.started_at,
        finished_at=step.finished_at,
        duration_ms=_duration_ms(step),
        next_retry_at=step.next_retry_at,
    )


def waiting_out(wait: waiting.Waiting | None) -> WaitingOut | None:
    if wait is None:
        return None
    return WaitingOut(step=wait.key, for_=wait.kind, since=wait.since, until=wait.until)


def summary_of(execution: Execution, wait: waiting.Waiting | None = None) -> ExecutionSummary:
    """The execution's summary, with what it waits for (`wait`) while it waits."""
    summary = ExecutionSummary.model_validate(execution)
    if execution.status == ExecutionStatus.WAITING and wait is not None:
        summary.waiting = waiting_out(wait)
    return summary


def execution_out(execution: Execution) -> ExecutionOut:
    """The execution with its step runs in history order (a loop before its iterations)."""
    program = program_of(execution)
    steps = sorted(execution.steps, key=lambda step: history_key(step.frame, step.position))
    wait = waiting.first_of(steps) if execution.status == ExecutionStatus.WAITING else None
    return ExecutionOut(
        **summary_of(execution, wait).model_dump(),
        trigger_data=execution.trigger_data,
        steps=[step_result(step, program) for step in steps],
    )


def _accepted(execution: Execution) -> Response:
    summary = ExecutionSummary.model_validate(execution).model_dump()
    response = respond(ExecutionStarted(**summary, execution_id=execution.id), 202)
    response.headers["Location"] = url_for("api.execution_show", execution_id=execution.id)
    return response


class _Answer:
    """The 202 of a trigger, built as the execution is stored, before its commit: its
    Idempotency-Key answer then commits with the execution (idempotency.answer_with)."""

    response: Response | None = None

    def record(self, session: Session, execution: Execution) -> None:
        self.response = _accepted(execution)
        answer_with(session, self.response)


def _execution(execution_id: int) -> Execution:
    return lifecycle.get_execution(db.session(), execution_id, auth.current_user().id)


def _page(where: ExecutionFilter) -> Response:
    session = db.session()
    items, cursor = keyset_page(
        session,
        select_executions(auth.current_user().id, where),
        (Execution.created_at, Execution.id),
        page_request(),
        lambda execution: (execution.created_at, execution.id),
    )
    waits = waiting.of_executions(
        session, [e.id for e in items if e.status == ExecutionStatus.WAITING]
    )
    summaries = [summary_of(e, waits.get(e.id)) for e in items]
    return respond(ExecutionList(items=summaries, next_cursor=cursor))


@bp.post(f"/workflows/{WORKFLOW_ID}/trigger")
@idempotent
def workflow_trigger(workflow_id: int) -> Response:
    """Start an execution with the body as trigger data; 202 once it is stored."""
    return _start(workflow_id, dry_run=False)


def _start(workflow_id: int, *, dry_run: bool) -> Response:
    session = db.session()
    workflow = find_workflow(workflow_id)
    data = parse_optional_body(TriggerData).root
    answer = _Answer()
    stepline = container()
    lifecycle.trigger(
        session,
        workflow,
        data,
        send=tolerant(stepline.doorbell.send),
        settings=stepline.settings,
        record=answer.record,
        admission=stepline.admission,
        dry_run=dry_run,
    )
    assert answer.response is not None
    return answer.response


@bp.post(f"/workflows/{WORKFLOW_ID}/dry-run")
@idempotent
def workflow_dry_run(workflow_id: int) -> Response:
    """Dry run the workflow with the body as trigger data: steps that send record the request
    they would send instead; 202 once it is stored."""
    return _start(workflow_id, dry_run=True)


@bp.get(f"/workflows/{WORKFLOW_ID}/executions")
def execution_list(workflow_id: int) -> Response:
    """One workflow's executions, newest first, filtered."""
    workflow = find_workflow(workflow_id)
    return _page(filters.execution_filter(workflow_id=workflow.id))


@bp.get("/executions")
def execution_history() -> Response:
    """All the user's executions, newest first, filtered."""
    return _page(filters.execution_filter())


@bp.get(f"/executions/{EXECUTION_ID}")
def execution_show(execution_id: int) -> Response:
    """One execution with its steps."""
    return respond(execution_out(_execution(execution_id)))


@bp.post(f"/executions/{EXECUTION_ID}/cancel")
def execution_cancel(execution_id: int) -> Response:
    """Cancel a live execution."""
    stepline = container()
    execution = lifecycle.cancel(
        db.session(),
        _execution(execution_id),
        send=stepline.doorbell.send,
        settings=stepline.settings,
    )
    return respond(execution_out(execution))


@bp.post(f"/executions/{EXECUTION_ID}/rerun")
@idempotent
def execution_rerun(execution_id: int) -> Response:
    """Run again, from the start or from the failed step, with the same or new data."""
    session = db.session()
    execution = _execution(execution_id)
    workflow = crud.get_workflow(session, execution.workflow_id, auth.current_user().id)
    body = parse_optional_body(RerunRequest)
    stepline = container()
    again = lifecycle.rerun(
        session,
        execution,
        workflow,
        send=tolerant(stepline.doorbell.send),
        settings=stepline.settings,
        from_failed=body.from_failed,
        trigger_data=body.trigger_data,
        dry_run=body.dry_run,
    )
    return _accepted(again)


@bp.delete(f"/executions/{EXECUTION_ID}")
def execution_delete(execution_id: int) -> Response:
    """Delete a finished execution and its steps."""
    retention.delete_execution(db.session(), _execution(execution_id))
    return no_content()


@bp.post("/executions/rerun-failed")
@idempotent
def executions_rerun_failed() -> Response:
    """Re-run the failed executions matching a filter (each failure once)."""
    body = parse_optional_body(BulkRerunRequest)
    session = db.session()
    owner_id = auth.current_user().id
    where = DashboardFilter(
        workflow_id=body.workflow_id,
        since=body.created_after,
        until=body.created_before,
        run_key=body.run_key,
    )
    if body.workflow_id is not None:
        find_workflow(body.workflow_id)  # 404 for another user's workflow
    plan = bulk_rerun.plan(session, owner_id, where)
    started: list[int] = []
    if plan.up_to is not None and plan.count:
        stepline = container()
        started = bulk_rerun.rerun_failed(
            session,
            owner_id,
            where,
            up_to=plan.up_to,
            from_failed=body.from_failed,
            send=tolerant(stepline.doorbell.send),
            settings=stepline.settings,
        )
    return respond(BulkRerunResult(execution_ids=started, more=plan.more))


# The seed's paths, kept for the scripts written against them (same views, same answers).
ALIASES = (
    ("/workflows/executions/history", execution_history, "GET"),
    (f"/workflows/executions/{EXECUTION_ID}", execution_show, "GET"),
    (f"/workflows/executions/{EXECUTION_ID}/cancel", execution_cancel, "POST"),
    (f"/workflows/executions/{EXECUTION_ID}/rerun", execution_rerun, "POST"),
)
for _path, _view, _method in ALIASES:
    bp.add_url_rule(_path, view_func=_view, methods=[_method])
