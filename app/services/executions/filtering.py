"""Which of a user's executions a list shows: the filter the API, the dashboard and the CLI
share, applied to any statement over executions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import defer

from app.models import Execution, Workflow

AnySelect = TypeVar("AnySelect", bound="Select[*tuple[Any, ...]]")


@dataclass(frozen=True)
class ExecutionFilter:
    """Which of a user's executions a list shows; None means any."""

    workflow_id: int | None = None
    statuses: tuple[str, ...] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None
    run_key: str | None = None
    include_dry_runs: bool = False  # in a run-key search (lists show dry runs, marked)
    has_errors: bool | None = None  # True: a step failed (see Execution.has_errors)


def restrict(stmt: AnySelect, owner_id: int, where: ExecutionFilter) -> AnySelect:
    """Restrict `stmt` (over executions) to the owner's rows that match `where`."""
    stmt = stmt.where(Execution.user_id == owner_id)
    if where.workflow_id is not None:
        stmt = stmt.where(Execution.workflow_id == where.workflow_id)
    if where.statuses:
        stmt = stmt.where(Execution.status.in_(where.statuses))
    if where.has_errors is not None:
        # Spelt as the partial indexes' predicate, which answer the True case.
        stmt = stmt.where(Execution.has_errors if where.has_errors else ~Execution.has_errors)
    if where.created_after is not None:
        stmt = stmt.where(Execution.created_at >= where.created_after)
    if where.created_before is not None:
        stmt = stmt.where(Execution.created_at < where.created_before)
    if where.run_key is not None:
        stmt = stmt.where(Execution.run_key == where.run_key)
        if not where.include_dry_runs:
            stmt = stmt.where(Execution.dry_run.is_(False))
        if where.workflow_id is None:
            # Name the owner's workflows so the (workflow_id, run_key) index answers.
            owned = select(Workflow.id).where(Workflow.user_id == owner_id)
            stmt = stmt.where(Execution.workflow_id.in_(owned.scalar_subquery()))
    return stmt


def select_executions(owner_id: int, where: ExecutionFilter) -> Select[Execution]:
    """The user's executions matching `where` (unordered: the caller pages them). The rows
    load without their JSON (snapshot, trigger data): a list shows neither."""
    stmt = select(Execution).options(defer(Execution.snapshot), defer(Execution.trigger_data))
    return restrict(stmt, owner_id, where)
