"""Child runs: a `run_workflow` step starts a run of another workflow of the same user.

The engine reaches this through `StepContext.start_child` (app.engine.children): the
composition root hands a `ChildStarter` to the runner, so the engine never imports services.

A child run:
- is of a workflow of the parent's user (else ConfigError: not retried);
- runs that workflow's saved version, even while it is disabled (calling it is asking for it),
  as a dry run when the parent is one, with trigger type `workflow`;
- is one level deeper than its parent (`depth`); past `STEPLINE_MAX_CHILD_DEPTH` it is refused
  with the chain of calls, so that a workflow calling itself ends clearly;
- is unique per step run of its parent (`parent_execution_id`, `parent_position`,
  `parent_frame`: a unique index): a step retried after a crash finds the child it made
  instead of starting a second one (looked up first; a race lost to the index is looked up
  again).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.engine.children import ChildRequest, ChildStarted
from app.engine.doorbell import Send
from app.engine.errors import ConfigError
from app.models import Execution, Workflow
from app.services.errors import ServiceError
from app.services.executions import lifecycle
from app.settings import Settings

TRIGGER_TYPE = "workflow"  # the trigger type of a child run
NOT_IN_TRIALS = (
    "“Test this step” does not start another workflow. Use “Test workflow” to run this "
    "workflow with the one it calls, or a dry run."
)


class ChildStarter:
    """Starts child runs for the engine (app.engine.children.StartChild), each in a session
    of its own, committed before the child's first doorbell rings."""

    def __init__(
        self, session_factory: Callable[[], Session], send: Send, settings: Settings
    ) -> None:
        self.session_factory = session_factory
        self.send = send
        self.settings = settings

    def __call__(self, request: ChildRequest) -> ChildStarted:
        with self.session_factory() as session:
            return start_child(session, request, send=self.send, settings=self.settings)


def start_child(
    session: Session, request: ChildRequest, *, send: Send, settings: Settings
) -> ChildStarted:
    """The child run of the step run `request` names: the one an earlier attempt made, or a
    new one (committed, its first step rung). ConfigError when it may not start."""
    parent = session.execute(
        select(Execution.user_id, Execution.depth).where(
            Execution.id == request.parent_execution_id
        )
    ).first()
    if parent is None or parent.user_id != request.user_id:
        raise ConfigError(NOT_IN_TRIALS)
    found = find_child(session, request.parent_execution_id, request.position, request.frame)
    if found is not None:
        return found
    workflow = session.scalar(
        select(Workflow).where(
            Workflow.id == request.workflow_id, Workflow.user_id == request.user_id
        )
    )
    if workflow is None:
        raise ConfigError(f"Workflow {request.workflow_id} does not exist or is not yours.")
    depth = parent.depth + 1
    limit = settings.max_child_depth
    if depth > limit:
        chain = call_chain(session, request.parent_execution_id)
        raise ConfigError(depth_message(chain, workflow.name, limit))

    def link(session: Session, child: Execution) -> None:
        child.parent_execution_id = request.parent_execution_id
        child.parent_position = request.position
        child.parent_frame = request.frame
        child.depth = depth

    try:
        child = lifecycle.start(
            session,
            workflow,
            dict(request.data),
            send=send,
            settings=settings,
            trigger_type=TRIGGER_TYPE,
            record=link,
            dry_run=request.dry_run,
        )
    except IntegrityError:  # another attempt of this step run made its child meanwhile
        session.rollback()
        found = find_child(session, request.parent_execution_id, request.position, request.frame)
        if found is None:
            raise
        return found
    except ServiceError as exc:  # trigger data no database stores, or over the size cap
        session.rollback()
        raise ConfigError(f"config.data: {exc.message}") from None
    return ChildStarted(
        execution_id=child.id,
        workflow_id=workflow.id,
        workflow_name=workflow.name,
        status=child.status,
        depth=depth,
        created=True,
        enabled=workflow.enabled,
    )


def find_child(
    session: Session, parent_execution_id: int, position: int, frame: str
) -> ChildStarted | None:
    """The child run of the step run (`position`, `frame`) of `parent_execution_id`, if it
    made one (the unique index `uq_executions_parent_step`)."""
    row = session.execute(
        select(
            Execution.id,
            Execution.workflow_id,
            Execution.status,
            Execution.depth,
            Workflow.name,
            Workflow.enabled,
        )
        .join(Workflow, Workflow.id == Execution.workflow_id)
        .where(
            Execution.parent_execution_id == parent_execution_id,
            Execution.parent_position == position,
            Execution.parent_frame == frame,
        )
    ).first()
    if row is None:
        return None
    return ChildStarted(
        execution_id=row.id,
        workflow_id=row.workflow_id,
        workflow_name=row.name,
        status=row.status,
        depth=row.depth,
        created=False,
        enabled=row.enabled,
    )


def call_chain(session: Session, execution_id: int) -> list[tuple[int, str]]:
    """The runs from the top one down to `execution_id`, as (execution id, workflow name)."""
    chain: list[tuple[int, str]] = []
    current: int | None = execution_id
    while current is not None and all(current != run_id for run_id, _ in chain):
        row = session.execute(
            select(Execution.parent_execution_id, Workflow.name)
            .join(Workflow, Workflow.id == Execution.workflow_id)
            .where(Execution.id == current)
        ).first()
        if row is None:
            break
        chain.append((current, row.name))
        current = row.parent_execution_id
    return list(reversed(chain))


def depth_message(chain: list[tuple[int, str]], called: str, limit: int) -> str:
    """Why a child run is refused past the depth limit, naming the chain of calls."""
    runs = " → ".join(f"“{name}” (run #{run_id})" for run_id, name in chain)
    return (
        f"Workflows call each other more than {limit} deep: {runs} → “{called}”. "
        "A workflow that calls itself needs a condition that ends it "
        "(the limit is STEPLINE_MAX_CHILD_DEPTH)."
    )
