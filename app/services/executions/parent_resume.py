"""A child run's end resumes its parent's waiting `run_workflow` step.

Three ways, each a single-use resume (app.engine.waits.resume: one conditional UPDATE from
`waiting`), so that whichever comes first wins and the others do nothing:

- the fast path, where runs end: the runner tells `ParentResume` of each message that ended
  (app.engine.runner.MessageEnded): when the run has a parent (the runner loaded
  `parent_execution_id` with the run, so a run without one costs no query) its row is read
  and, if final, its parent resumed; `lifecycle.cancel` does the same for a cancelled child.
  A child failed by its time limit (app.engine.run_deadlines, in the engine) is left to the
  scheduler's pass below, which runs beside it.
- the other order: a child can end before its parent's step is recorded as waiting (a short
  child on a busy worker). The parent's message then ends on its `run_workflow` step, and the
  same hook reads that step's child: already final, the parent is resumed at once.
- the fallback: the scheduler's pass (`resume_finished`) resumes every waiting `child` step
  whose child is final (a crash between a child's end and the resume).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, and_, select
from sqlalchemy.orm import Session, aliased

from app.engine import waits
from app.engine.attempts import Claim
from app.engine.children import RUN_WORKFLOW, WAIT_KIND
from app.engine.doorbell import Send
from app.models import Execution, ExecutionStatus, ExecutionStep, Workflow

BATCH = 200  # waiting steps the scheduler's pass resumes at most per tick


def child_result(session: Session, child_id: int) -> tuple[waits.WaitRef, dict[str, Any]] | None:
    """The parent step a final child run resumes, and the resume data: `{"kind": "child",
    "child": {execution_id, status, output, error, workflow}}`, where `output` is the output
    of the child's last completed step outside loops (a loop counts with its list). None when
    the run has no parent or is not final."""
    row = session.execute(
        select(
            Execution.status,
            Execution.error,
            Execution.parent_execution_id,
            Execution.parent_position,
            Execution.parent_frame,
            Workflow.name,
        )
        .join(Workflow, Workflow.id == Execution.workflow_id)
        .where(Execution.id == child_id)
    ).first()
    if row is None or row.parent_execution_id is None or row.parent_position is None:
        return None
    if row.status not in ExecutionStatus.FINAL:
        return None
    output = session.scalar(
        select(ExecutionStep.output)
        .where(
            ExecutionStep.execution_id == child_id,
            ExecutionStep.frame == "",
            ExecutionStep.status == "completed",
        )
        .order_by(ExecutionStep.position.desc())
        .limit(1)
    )
    child = {
        "execution_id": child_id,
        "status": row.status,
        "output": output if output is not None else {},
        "error": row.error,
        "workflow": row.name,
    }
    ref = waits.WaitRef(row.parent_execution_id, row.parent_position, row.parent_frame or "")
    return ref, {"kind": WAIT_KIND, "child": child}


def resume_parent(engine: Engine, send: Send, lease: timedelta, child_id: int) -> bool:
    """Resume the parent step of the child run `child_id` if it is final and the step waits
    for it; True when this call resumed it."""
    with Session(engine) as session:
        found = child_result(session, child_id)
    if found is None:
        return False
    ref, data = found
    return waits.resume(engine, send, ref, data, lease=lease)


def resume_for_step(engine: Engine, send: Send, lease: timedelta, ref: waits.WaitRef) -> bool:
    """Resume the step `ref` (a `run_workflow` step) if its child run is final already."""
    with Session(engine) as session:
        child_id = session.scalar(
            select(Execution.id).where(
                Execution.parent_execution_id == ref.execution_id,
                Execution.parent_position == ref.position,
                Execution.parent_frame == ref.frame,
            )
        )
    if child_id is None:
        return False
    return resume_parent(engine, send, lease, child_id)


class ParentResume:
    """The runner's MessageEnded hook (app.engine.runner): see the module's docstring."""

    def __init__(self, engine: Engine, send: Send, lease: timedelta) -> None:
        self.engine = engine
        self.send = send
        self.lease = lease

    def __call__(self, claim: Claim) -> None:
        run = claim.run
        if run.context.parent_execution_id is not None:
            resume_parent(self.engine, self.send, self.lease, run.execution_id)
        if run.actions[claim.position]["type"] == RUN_WORKFLOW:
            ref = waits.WaitRef(run.execution_id, claim.position, claim.frame)
            resume_for_step(self.engine, self.send, self.lease, ref)


def resume_finished(engine: Engine, send: Send, lease: timedelta, limit: int = BATCH) -> int:
    """The scheduler's pass: resume waiting `run_workflow` steps whose child run is final
    (the fast path was missed: a crash between the child's end and the resume). Returns how
    many it resumed."""
    child = aliased(Execution)
    with Session(engine) as session:
        children = session.scalars(
            select(child.id)
            .join(
                ExecutionStep,
                and_(
                    ExecutionStep.execution_id == child.parent_execution_id,
                    ExecutionStep.position == child.parent_position,
                    ExecutionStep.frame == child.parent_frame,
                ),
            )
            .where(
                ExecutionStep.status == "waiting",
                ExecutionStep.action_type == RUN_WORKFLOW,
                child.status.in_(ExecutionStatus.FINAL),
            )
            .limit(limit)
        ).all()
    return sum(resume_parent(engine, send, lease, child_id) for child_id in children)
