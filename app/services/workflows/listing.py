"""The Workflows page's rows: search by name, keyset pages (newest first), and per workflow its
trigger kind, step count, last run and run count, each fetched for the page's rows only; and the
filters the API's list takes (name, enabled, trigger type)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Row, Select, exists, func, select
from sqlalchemy.orm import Session

from app.models import Action, Execution, Trigger, Workflow

PAGE_SIZE = 20
# Run counts stop here (the page shows "1,000+"): a page costs the same whatever the history.
RUN_COUNT_CAP = 1_000
MAX_QUERY_LENGTH = 200

S = TypeVar("S", bound=Select[Any])


@dataclass(frozen=True)
class LastRun:
    id: int
    status: str
    created_at: datetime


@dataclass(frozen=True)
class WorkflowRow:
    id: int
    name: str
    description: str
    enabled: bool
    version: int
    trigger_type: str
    step_count: int
    run_count: int  # at most RUN_COUNT_CAP
    last_run: LastRun | None

    @property
    def runs_shown(self) -> str:
        if self.run_count >= RUN_COUNT_CAP:
            return f"{RUN_COUNT_CAP:,}+"
        return f"{self.run_count:,}"


@dataclass(frozen=True)
class WorkflowPage:
    rows: list[WorkflowRow]
    query: str
    newer: int | None  # `before` cursor of the previous (newer) page, when there is one
    older: int | None  # `after` cursor of the next (older) page, when there is one


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def matching(
    statement: S,
    *,
    name: str | None = None,
    enabled: bool | None = None,
    trigger_type: str | None = None,
) -> S:
    """`statement` (selecting from workflows) narrowed to those whose name contains `name`
    (any case), that are `enabled` or not, whose trigger is of `trigger_type`."""
    if name:
        statement = statement.where(Workflow.name.ilike(_like(name), escape="\\"))
    if enabled is not None:
        statement = statement.where(Workflow.enabled == enabled)
    if trigger_type is not None:
        typed = exists().where(Trigger.workflow_id == Workflow.id, Trigger.type == trigger_type)
        if trigger_type == "manual":  # a workflow without a trigger row runs by hand
            statement = statement.where(typed | ~exists().where(Trigger.workflow_id == Workflow.id))
        else:
            statement = statement.where(typed)
    return statement


if TYPE_CHECKING:  # a row of _select()
    _Found = Row[int, str, str, bool, int, str]


def _run_count(session: Session, workflow_id: int) -> int:
    """Runs of one workflow, counted up to RUN_COUNT_CAP: an index range scan whose length
    does not grow with the workflow's history."""
    runs = (
        select(Execution.id).where(Execution.workflow_id == workflow_id).limit(RUN_COUNT_CAP)
    ).subquery()
    return int(session.scalar(select(func.count()).select_from(runs)) or 0)


def _rows(session: Session, workflows: Sequence[_Found]) -> list[WorkflowRow]:
    ids = [w.id for w in workflows]
    if not ids:
        return []
    steps: dict[int, int] = {
        workflow_id: count
        for workflow_id, count in session.execute(
            select(Action.workflow_id, func.count(Action.id))
            .where(Action.workflow_id.in_(ids))
            .group_by(Action.workflow_id)
        )
    }
    runs = {workflow_id: _run_count(session, workflow_id) for workflow_id in ids}
    latest = (
        select(Execution.id)
        .where(Execution.workflow_id == Workflow.id)
        .order_by(Execution.created_at.desc(), Execution.id.desc())
        .limit(1)
        .correlate(Workflow)
        .scalar_subquery()
    )
    last_ids = [i for i in session.scalars(select(latest).where(Workflow.id.in_(ids))) if i]
    last = {
        row.workflow_id: LastRun(row.id, row.status, row.created_at)
        for row in session.execute(
            select(
                Execution.workflow_id, Execution.id, Execution.status, Execution.created_at
            ).where(Execution.id.in_(last_ids))
        )
    }
    return [
        WorkflowRow(
            id=w.id,
            name=w.name,
            description=w.description,
            enabled=w.enabled,
            version=w.version,
            trigger_type=w.trigger_type or "manual",
            step_count=steps.get(w.id, 0),
            run_count=runs.get(w.id, 0),
            last_run=last.get(w.id),
        )
        for w in workflows
    ]


def _select() -> Select[int, str, str, bool, int, str]:
    return select(
        Workflow.id,
        Workflow.name,
        Workflow.description,
        Workflow.enabled,
        Workflow.version,
        Trigger.type.label("trigger_type"),
    ).outerjoin(Trigger, Trigger.workflow_id == Workflow.id)


def list_workflows(
    session: Session,
    owner_id: int,
    *,
    query: str = "",
    after: int | None = None,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> WorkflowPage:
    """One page of the user's workflows, newest first, whose name contains `query`.
    `after` pages to older workflows than that id, `before` to newer ones."""
    query = query.strip()[:MAX_QUERY_LENGTH]
    statement = _select().where(Workflow.user_id == owner_id)
    if query:
        statement = statement.where(Workflow.name.ilike(_like(query), escape="\\"))
    if before is not None:
        statement = statement.where(Workflow.id > before).order_by(Workflow.id.asc())
    else:
        if after is not None:
            statement = statement.where(Workflow.id < after)
        statement = statement.order_by(Workflow.id.desc())
    found = list(session.execute(statement.limit(limit + 1)))
    more = len(found) > limit
    found = found[:limit]
    if before is not None:
        found.reverse()
    rows = _rows(session, found)
    if not rows:
        return WorkflowPage([], query, None, None)
    has_newer = more if before is not None else after is not None
    has_older = more if before is None else True
    return WorkflowPage(
        rows,
        query,
        newer=rows[0].id if has_newer else None,
        older=rows[-1].id if has_older else None,
    )


def workflow_row(session: Session, workflow: Workflow) -> WorkflowRow:
    """The row of one (already owner-checked) workflow, as the page shows it."""
    found = session.execute(_select().where(Workflow.id == workflow.id)).one()
    return _rows(session, [found])[0]


def callable_workflows(session: Session, owner_id: int, current_id: int) -> list[tuple[str, str]]:
    """The owner's workflows a `run_workflow` step may call, as (id, label) for its select:
    by name; the current one says so (calling itself is recursion), an inactive one too (a
    call still runs its saved version)."""
    rows = session.execute(
        select(Workflow.id, Workflow.name, Workflow.enabled)
        .where(Workflow.user_id == owner_id)
        .order_by(Workflow.name, Workflow.id)
    ).all()
    choices = []
    for row in rows:
        notes = ["this workflow"] if row.id == current_id else []
        if not row.enabled:
            notes.append("not active")
        label = f"{row.name} ({', '.join(notes)})" if notes else row.name
        choices.append((str(row.id), label))
    return choices


def workflow_names(session: Session, owner_id: int) -> dict[int, str]:
    """The owner's workflows' names by id (what a run_workflow step's card calls)."""
    rows = session.execute(
        select(Workflow.id, Workflow.name).where(Workflow.user_id == owner_id)
    ).all()
    return {row.id: row.name for row in rows}
