"""Reading executions for the dashboard: filters, keyset pages, live rows, the step timeline.

Every query is scoped to one user and bounded by an index (user/workflow + created_at, or
workflow + run key), so a page of 25 costs the same with ten rows stored or a million.
Rows select named columns only: the snapshot and trigger data (JSON) load on the detail page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, any_, bindparam, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from app.models import Execution, ExecutionStatus, Workflow
from app.services.errors import InvalidInputError, NotFoundError
from app.services.executions import links, progress, step_views, timeline, waiting
from app.services.executions.filtering import AnySelect, ExecutionFilter, restrict
from app.services.executions.lifecycle import RUN_KEY_LENGTH, get_execution
from app.services.executions.step_views import ExecutionDetail, Iteration, LoopView, StepView

PAGE_SIZE = 25
NEWER_LIMIT = 50
# The status filter's value for completed runs in which a step failed (continue on error).
WITH_ERRORS = "completed-with-errors"


def is_id(raw: str) -> bool:
    """A database id as typed in a URL: ASCII digits that fit a BIGINT."""
    return raw.isascii() and raw.isdigit() and len(raw) <= 18


def _parse_time(raw: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInputError("Use a date and time such as 2025-01-31T14:00.", name) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class DashboardFilter:
    """What the list shows: any of workflow, status (`with_errors`: completed with errors), a
    created-at range (UTC), a run key."""

    workflow_id: int | None = None
    status: ExecutionStatus | None = None
    since: datetime | None = None
    until: datetime | None = None
    run_key: str | None = None
    include_dry_runs: bool = False  # in a run-key search (the list shows dry runs, marked)
    with_errors: bool = False

    @classmethod
    def parse(cls, args: Mapping[str, str], workflow_id: int | None = None) -> DashboardFilter:
        """Read a filter from query arguments; a bad value → InvalidInputError naming it."""
        raw_workflow = (args.get("workflow") or "").strip()
        if workflow_id is None and raw_workflow:
            if not is_id(raw_workflow):
                raise InvalidInputError("Pick a workflow from the list.", "workflow")
            workflow_id = int(raw_workflow)
        raw_status = (args.get("status") or "").strip()
        with_errors = raw_status == WITH_ERRORS
        if with_errors:
            raw_status = ExecutionStatus.COMPLETED.value
        if raw_status and raw_status not in ExecutionStatus.__members__.values():
            raise InvalidInputError("Pick a status from the list.", "status")
        raw_since = (args.get("since") or "").strip()
        raw_until = (args.get("until") or "").strip()
        since = _parse_time(raw_since, "since") if raw_since else None
        until = _parse_time(raw_until, "until") if raw_until else None
        if since and until and until <= since:
            raise InvalidInputError("“To” must be after “From”.", "until")
        run_key = (args.get("run_key") or "").strip()
        if len(run_key) > RUN_KEY_LENGTH:
            raise InvalidInputError(
                f"A run key has at most {RUN_KEY_LENGTH} characters.", "run_key"
            )
        return cls(
            workflow_id=workflow_id,
            status=ExecutionStatus(raw_status) if raw_status else None,
            since=since,
            until=until,
            run_key=run_key or None,
            include_dry_runs=(args.get("include_dry_runs") or "").strip() in ("1", "on", "true"),
            with_errors=with_errors,
        )

    def query_args(self, *, with_workflow: bool = True) -> dict[str, str]:
        """The filter as query arguments (the inverse of `parse`), empty ones left out."""
        args = {
            "workflow": str(self.workflow_id) if with_workflow and self.workflow_id else "",
            "status": self.status_value,
            "since": self.since.strftime("%Y-%m-%dT%H:%M") if self.since else "",
            "until": self.until.strftime("%Y-%m-%dT%H:%M") if self.until else "",
            "run_key": self.run_key or "",
            "include_dry_runs": "1" if self.include_dry_runs else "",
        }
        return {k: v for k, v in args.items() if v}

    @property
    def status_value(self) -> str:
        """The status select's value ("" for any status)."""
        if self.with_errors:
            return WITH_ERRORS
        return self.status.value if self.status else ""

    @property
    def is_empty(self) -> bool:
        return not (self.workflow_id or self.status or self.since or self.until or self.run_key)

    def apply(self, stmt: AnySelect, owner_id: int) -> AnySelect:
        """Restrict `stmt` (over executions) to the owner's rows that match the filter."""
        where = ExecutionFilter(
            workflow_id=self.workflow_id,
            statuses=(self.status.value,) if self.status else (),
            created_after=self.since,
            created_before=self.until,
            run_key=self.run_key,
            include_dry_runs=self.include_dry_runs,
            has_errors=True if self.with_errors else None,
        )
        return restrict(stmt, owner_id, where)


@dataclass(frozen=True)
class ExecutionRow:
    """One line of the list: what a row shows, without the JSON columns."""

    id: int
    workflow_id: int
    workflow_name: str
    status: str
    trigger_type: str
    run_key: str | None
    error: str | None
    has_errors: bool
    rerun_of_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    dry_run: bool
    position: int = 0  # the cursor: the step run next, in the loop iterations of `frame`
    frame: str = ""
    progress: str = ""  # while running: "step 3 of 5 · item 120 of 1,000"; waiting: for what

    @property
    def is_live(self) -> bool:
        return not ExecutionStatus(self.status).is_final

    @property
    def is_waiting(self) -> bool:
        """Suspended until a call, a decision, a child run or a time: live, but nothing moves
        until then (the list polls it slowly)."""
        return self.status == ExecutionStatus.WAITING


ROW_COLUMNS = (
    Execution.id,
    Execution.workflow_id,
    Workflow.name.label("workflow_name"),
    Execution.status,
    Execution.trigger_type,
    Execution.run_key,
    Execution.error,
    Execution.has_errors,
    Execution.rerun_of_id,
    Execution.created_at,
    Execution.started_at,
    Execution.finished_at,
    Execution.dry_run,
    Execution.position,
    Execution.frame,
)
NEWEST_FIRST = (Execution.created_at.desc(), Execution.id.desc())


def _rows_query() -> Select[*tuple[Any, ...]]:
    return select(*ROW_COLUMNS).join(Workflow, Workflow.id == Execution.workflow_id)


def _rows(session: Session, stmt: Select[*tuple[Any, ...]]) -> list[ExecutionRow]:
    """The rows, the running ones with their progress and the waiting ones with what they
    wait for (one more statement or two if any)."""
    rows = [ExecutionRow(**row._asdict()) for row in session.execute(stmt)]
    running = [(r.id, r.position, r.frame) for r in rows if r.status == ExecutionStatus.RUNNING]
    told = progress.describe(session, running)
    waits = waiting.of_executions(session, [r.id for r in rows if r.is_waiting])
    told.update({execution_id: wait.short() for execution_id, wait in waits.items()})
    return [replace(r, progress=told[r.id]) if r.id in told else r for r in rows]


@dataclass(frozen=True)
class ExecutionPage:
    """A page of rows, newest first; `older` is the cursor of the next page (None: last)."""

    rows: list[ExecutionRow]
    older: int | None
    filter: DashboardFilter = field(default_factory=DashboardFilter)

    @property
    def newest_id(self) -> int | None:
        return self.rows[0].id if self.rows else None


def _position(session: Session, execution_id: int, owner_id: int) -> tuple[datetime, int] | None:
    created = session.scalar(
        select(Execution.created_at).where(
            Execution.id == execution_id, Execution.user_id == owner_id
        )
    )
    return (created, execution_id) if created is not None else None


def list_executions(
    session: Session,
    owner_id: int,
    filter: DashboardFilter,
    *,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> ExecutionPage:
    """A keyset page: the rows created before execution `before` (or the newest ones).

    The cursor is an execution id; its (created_at, id) is looked up for the owner, so a
    cursor naming someone else's execution reads as the first page."""
    stmt = filter.apply(_rows_query(), owner_id)
    start = _position(session, before, owner_id) if before is not None else None
    if start is not None:
        stmt = stmt.where(tuple_(Execution.created_at, Execution.id) < tuple_(*start))
    rows = _rows(session, stmt.order_by(*NEWEST_FIRST).limit(limit + 1))
    older = rows[limit - 1].id if len(rows) > limit else None
    return ExecutionPage(rows[:limit], older, filter)


def newer_executions(
    session: Session,
    owner_id: int,
    filter: DashboardFilter,
    after: int,
    limit: int = NEWER_LIMIT,
) -> list[ExecutionRow]:
    """Rows created after execution `after`, newest first (at most `limit`).

    Bounded below by `after`'s created_at, so the index range scanned holds only new rows."""
    start = _position(session, after, owner_id)
    if start is None:
        return []
    stmt = filter.apply(_rows_query(), owner_id).where(
        Execution.created_at >= start[0],
        tuple_(Execution.created_at, Execution.id) > tuple_(*start),
    )
    return _rows(session, stmt.order_by(*NEWEST_FIRST).limit(limit))


def get_row(session: Session, execution_id: int, owner_id: int) -> ExecutionRow:
    """One row of the list, for its live fragment; NotFoundError for a missing or foreign id."""
    stmt = _rows_query().where(Execution.id == execution_id, Execution.user_id == owner_id)
    rows = _rows(session, stmt)
    if not rows:
        raise NotFoundError(f"execution {execution_id}")
    return rows[0]


def id_among(session: Session, execution_ids: list[int]) -> ColumnElement[bool]:
    """`executions.id` is one of `execution_ids`: on PostgreSQL one array parameter
    (`= ANY(%s)`: one short statement, whatever the count), elsewhere `IN (…)`."""
    if session.get_bind().dialect.name == "postgresql":
        return Execution.id == any_(bindparam("ids", execution_ids, type_=ARRAY(BigInteger)))
    return Execution.id.in_(execution_ids)


def get_rows(session: Session, execution_ids: list[int], owner_id: int) -> list[ExecutionRow]:
    """The owner's rows among `execution_ids` (others' and missing ones left out), for the
    list's poll: primary-key lookups, whatever the table's size."""
    if not execution_ids:
        return []
    stmt = _rows_query().where(id_among(session, execution_ids), Execution.user_id == owner_id)
    return _rows(session, stmt.order_by(*NEWEST_FIRST))


def get_detail(session: Session, execution_id: int, owner_id: int) -> ExecutionDetail:
    """The execution with its history (`timeline`); NotFoundError for a missing or another
    user's id."""
    execution = get_execution(session, execution_id, owner_id)
    program = step_views.program_of(execution)
    tree = timeline.build(session, execution, program)
    reruns = session.execute(
        select(Execution.id, Execution.status)
        .where(Execution.rerun_of_id == execution.id, Execution.user_id == owner_id)
        .order_by(Execution.id.desc())
        .limit(10)
    ).all()
    current = session.scalar(select(Workflow.version).where(Workflow.id == execution.workflow_id))
    steps = step_views.flatten(tree)
    detail = ExecutionDetail(
        execution,
        steps,
        [(r.id, r.status) for r in reruns],
        current,
        tree,
        parent=links.parent_of(session, execution),
        children=links.children_of(session, execution),
    )
    detail.__dict__["program"] = program  # the cached property, already built for the tree
    return detail


FRAME = re.compile(r"^(\d{1,9}\.\d{1,9})(\.\d{1,9}\.\d{1,9})*$")


def get_iterations(
    session: Session,
    execution_id: int,
    owner_id: int,
    loop: int,
    frame: str,
    start: int,
    stop: int,
) -> tuple[ExecutionDetail, LoopView, StepView]:
    """A page of a loop's iterations (from `start`, up to `stop`) for "show more": the detail
    of the steps they hold, the loop's view with those iterations, the loop step's view.
    NotFoundError when the run has no such loop run."""
    execution = get_execution(session, execution_id, owner_id)
    if frame and (len(frame) > 255 or not FRAME.match(frame)):
        raise NotFoundError(f"loop {loop} in frame {frame!r}")
    found = timeline.iterations(session, execution, loop, frame, start, max(stop, start + 1))
    if found is None:
        raise NotFoundError(f"loop {loop} in frame {frame!r}")
    shown, view = found
    nodes = [node for it in shown.iterations if isinstance(it, Iteration) for node in it.steps]
    current = session.scalar(select(Workflow.version).where(Workflow.id == execution.workflow_id))
    children = links.children_of(session, execution)
    detail = ExecutionDetail(execution, step_views.flatten(nodes), [], current, children=children)
    return detail, shown, view


def workflow_choices(session: Session, owner_id: int) -> list[tuple[int, str]]:
    """The owner's workflows as (id, name), for the filter's select."""
    rows = session.execute(
        select(Workflow.id, Workflow.name)
        .where(Workflow.user_id == owner_id)
        .order_by(Workflow.name, Workflow.id)
    ).all()
    return [(row.id, row.name) for row in rows]
