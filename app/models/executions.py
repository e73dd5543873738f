"""Executions: one run of a workflow, and one row per step of that run."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import NEVER_REUSE_IDS, Base, BigId, JSONDoc, enum_column, utcnow


class ExecutionStatus(enum.StrEnum):
    """Where a run stands; `LIVE` ones still have work to do, `FINAL` ones never change."""

    PENDING = "pending"  # created, no step has started yet
    RUNNING = "running"  # a step has started and the run is not final
    WAITING = "waiting"  # a step waits for a call, a decision, a child run or a time
    COMPLETED = "completed"  # every step completed or was skipped
    FAILED = "failed"  # a step failed after its last attempt
    CANCELLED = "cancelled"  # cancelled by a user; queued messages do nothing

    # Set below the class (an enum's body would make them members). Tuples in declaration
    # order, so that statements spelt out from them compile to the same SQL in every process.
    LIVE: ClassVar[tuple[ExecutionStatus, ...]]
    FINAL: ClassVar[tuple[ExecutionStatus, ...]]

    @property
    def is_final(self) -> bool:
        return self in ExecutionStatus.FINAL


ExecutionStatus.LIVE = (ExecutionStatus.PENDING, ExecutionStatus.RUNNING, ExecutionStatus.WAITING)
ExecutionStatus.FINAL = (
    ExecutionStatus.COMPLETED,
    ExecutionStatus.FAILED,
    ExecutionStatus.CANCELLED,
)


# The predicate of the final executions, as SQL (retention's partial index and its query).
FINAL_SQL = "status IN ({})".format(", ".join(f"'{status}'" for status in ExecutionStatus.FINAL))
UNHANDLED_SQL = "status = 'failed' AND failure_handled_at IS NULL"


class StepStatus(enum.StrEnum):
    """Where one step of a run stands; `LIVE` ones may still run, `FINAL` ones never change."""

    PENDING = "pending"  # waiting for its turn, a retry or a delay
    RUNNING = "running"  # claimed by a worker; the action is executing
    # Suspended (wait for a call, an approval, a child run): no worker, no message; resumed
    # by one conditional UPDATE back to `pending` (app.engine.waits), or at `next_retry_at`.
    WAITING = "waiting"
    COMPLETED = "completed"  # output stored
    FAILED = "failed"  # failed after its last attempt
    SKIPPED = "skipped"  # not run: disabled, after a false filter, or a cancelled run

    LIVE: ClassVar[tuple[StepStatus, ...]]
    FINAL: ClassVar[tuple[StepStatus, ...]]


StepStatus.LIVE = (StepStatus.PENDING, StepStatus.RUNNING, StepStatus.WAITING)
StepStatus.FINAL = (StepStatus.COMPLETED, StepStatus.FAILED, StepStatus.SKIPPED)


class Execution(Base):
    """One run; `snapshot` freezes the workflow definition at trigger time."""

    __tablename__ = "executions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(enum_column(ExecutionStatus), default="pending")
    trigger_type: Mapped[str] = mapped_column(String(64))
    trigger_data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    workflow_version: Mapped[int]
    # Position of the step to run next (== number of steps when finished), and the loop
    # iterations around it (app.engine.program: "" at top level, "L.i" in a loop).
    position: Mapped[int] = mapped_column(default=0)
    frame: Mapped[str] = mapped_column(String(255), default="", server_default="")
    run_key: Mapped[str | None] = mapped_column(String(255))
    rerun_of_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("executions.id", ondelete="SET NULL")
    )
    error: Mapped[str | None] = mapped_column(Text)
    # A dry run: steps that send recorded what they would send instead (left out of figures).
    dry_run: Mapped[bool] = mapped_column(default=False, server_default=false())
    # A step failed: set by the statement that ends the run. With status `completed`: a step
    # that continues on error failed and the run went on ("completed with errors").
    has_errors: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When recovery may re-send the current step if no progress was recorded; NULL once final.
    lease_expires_at: Mapped[datetime | None]
    # A child run (run_workflow): the parent's execution and the step (position, frame) that
    # started it; `depth` counts the parents above (0 for a run started by its trigger).
    parent_execution_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("executions.id", ondelete="SET NULL")
    )
    parent_position: Mapped[int | None]
    parent_frame: Mapped[str | None] = mapped_column(String(255))
    depth: Mapped[int] = mapped_column(default=0, server_default="0")
    # The run's time limit (the workflow's settings): past it, the run fails.
    deadline_at: Mapped[datetime | None]
    # A failed run's "on failure" handling (error workflow, notification) is done.
    failure_handled_at: Mapped[datetime | None]

    steps: Mapped[list[ExecutionStep]] = relationship(
        back_populates="execution",
        order_by="ExecutionStep.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __table_args__ = (
        # `status` and `dry_run` last: the dashboard counts real runs by status from these
        # indexes alone.
        Index("ix_executions_user_id_created", "user_id", "created_at", "id", "status", "dry_run"),
        Index(
            "ix_executions_workflow_id_created",
            "workflow_id",
            "created_at",
            "id",
            "status",
            "dry_run",
        ),
        Index("ix_executions_status_updated", "status", "updated_at"),
        # Retention: the oldest final executions first, a small batch at a time. Partial, so
        # that no list of the dashboard (which never filters on it) is planned on it.
        Index(
            "ix_executions_final_created",
            "created_at",
            "id",
            postgresql_where=text(FINAL_SQL),
            sqlite_where=text(FINAL_SQL),
        ),
        # The indexes below hold only the rows they are searched for (a run key, a re-run, a
        # child, a live lease): every write of an execution changes indexed columns, so each
        # full index costs an entry per insert and per update (migration 0020).
        Index(
            "ix_executions_workflow_id_run_key",
            "workflow_id",
            "run_key",
            postgresql_where=text("run_key IS NOT NULL"),
            sqlite_where=text("run_key IS NOT NULL"),
        ),
        # Re-runs of an execution (its page, bulk re-run), and ON DELETE SET NULL on delete.
        Index(
            "ix_executions_rerun_of_id",
            "rerun_of_id",
            postgresql_where=text("rerun_of_id IS NOT NULL"),
            sqlite_where=text("rerun_of_id IS NOT NULL"),
        ),
        # Recovery: live runs whose lease has expired (a final run's lease is NULL).
        Index(
            "ix_executions_lease_expires_at",
            "lease_expires_at",
            postgresql_where=text("lease_expires_at IS NOT NULL"),
            sqlite_where=text("lease_expires_at IS NOT NULL"),
        ),
        # The "completed with errors" filter: only the runs with errors, newest first.
        Index(
            "ix_executions_user_id_with_errors",
            "user_id",
            "created_at",
            "id",
            postgresql_where=text("has_errors"),
            sqlite_where=text("has_errors = 1"),
        ),
        Index(
            "ix_executions_workflow_id_with_errors",
            "workflow_id",
            "created_at",
            "id",
            postgresql_where=text("has_errors"),
            sqlite_where=text("has_errors = 1"),
        ),
        # A parent's children, and at most one child per step run of a parent (a retried
        # start finds the child it made).
        Index(
            "uq_executions_parent_step",
            "parent_execution_id",
            "parent_position",
            "parent_frame",
            unique=True,
            postgresql_where=text("parent_execution_id IS NOT NULL"),
            sqlite_where=text("parent_execution_id IS NOT NULL"),
        ),
        # Runs with a time limit, for the pass that fails those past it.
        Index(
            "ix_executions_live_deadline",
            "deadline_at",
            postgresql_where=text(f"deadline_at IS NOT NULL AND NOT ({FINAL_SQL})"),
            sqlite_where=text(f"deadline_at IS NOT NULL AND NOT ({FINAL_SQL})"),
        ),
        # Failed runs whose failure handling is not done (services.executions.failure_handling):
        # a pass stamps each within seconds, so the index stays a handful of rows.
        Index(
            "ix_executions_failed_unhandled",
            "id",
            postgresql_where=text(UNHANDLED_SQL),
            sqlite_where=text(UNHANDLED_SQL),
        ),
        NEVER_REUSE_IDS,
    )


class ExecutionStep(Base):
    """What one step of one execution did: input, output, error, attempts."""

    __tablename__ = "execution_steps"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    execution_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("executions.id", ondelete="CASCADE")
    )
    # The step's position in the snapshot's tree, in pre-order (app.engine.program), and the
    # loop iterations around this run of it ("" at top level, "L.i" in iteration i of the loop
    # at position L); `address` says where the step is for people ("4/b/2"; "" for rows from
    # before containers: the top-level step at `position`).
    position: Mapped[int]
    frame: Mapped[str] = mapped_column(String(255), default="", server_default="")
    address: Mapped[str] = mapped_column(String(64), default="", server_default="")
    action_key: Mapped[str] = mapped_column(String(64))
    action_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(enum_column(StepStatus), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    input: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    error: Mapped[str | None] = mapped_column(Text)
    # Each attempt: {"attempt", "started_at", "finished_at", "error"}.
    attempt_log: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc, default=list)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # When a pending step is due (a retry, a delay) or a waiting one times out.
    next_retry_at: Mapped[datetime | None]
    # What resumed a waiting step (the call's request, the decision, the child's end, or
    # {"timed_out": true}); the action reads it when the step runs again.
    resume_data: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)

    execution: Mapped[Execution] = relationship(back_populates="steps")

    __table_args__ = (
        UniqueConstraint(
            "execution_id",
            "position",
            "frame",
            name="uq_execution_steps_execution_position_frame",
        ),
        # Waiting steps by deadline: the scheduler's pass resumes those that timed out.
        Index(
            "ix_execution_steps_waiting_until",
            "next_retry_at",
            postgresql_where=text("status = 'waiting'"),
            sqlite_where=text("status = 'waiting'"),
        ),
        NEVER_REUSE_IDS,
    )
