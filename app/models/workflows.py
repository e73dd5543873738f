"""Workflows: one trigger and an ordered list of actions (steps)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import NEVER_REUSE_IDS, Base, JSONDoc, utcnow


class Workflow(Base):
    """A user's automation; `version` is bumped on every save."""

    __tablename__ = "workflows"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(default=1)
    # Optional template evaluated when an execution starts (e.g. a customer email).
    run_key_template: Mapped[str | None] = mapped_column(Text)
    # The workflow's settings (services.workflows.specs.WorkflowSettings as data): time zone,
    # time limits, what happens when a run fails. Frozen into each execution's snapshot.
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'"))
    # What the person who saved the current version wrote about it (History shows it).
    version_note: Mapped[str | None] = mapped_column(String(500))
    # Where the current version was saved from, for people ("the editor", "API token “ci”"):
    # the editor names it when a save is refused because someone else saved first.
    saved_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    trigger: Mapped[Trigger | None] = relationship(
        back_populates="workflow", uselist=False, cascade="all, delete-orphan"
    )
    actions: Mapped[list[Action]] = relationship(
        back_populates="workflow", order_by="Action.position", cascade="all, delete-orphan"
    )

    __table_args__ = (Index("ix_workflows_user_id_id", "user_id", "id"), NEVER_REUSE_IDS)


class Trigger(Base):
    """What starts a workflow; exactly one per workflow."""

    __tablename__ = "triggers"

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(
        ForeignKey("workflows.id", ondelete="CASCADE"), unique=True
    )
    type: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Polling cursor and other handler-owned state.
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Sample data the editor's picker and "test step" use.
    sample_data: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    webhook_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    next_run_at: Mapped[datetime | None] = mapped_column(index=True)
    # Trigger health: an enabled workflow with no run for this long is shown as overdue.
    expect_every_seconds: Mapped[int | None]
    connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("connections.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    workflow: Mapped[Workflow] = relationship(back_populates="trigger")

    __table_args__ = NEVER_REUSE_IDS


class Action(Base):
    """One step of a workflow, referenced in templates by its stable `key`."""

    __tablename__ = "actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    position: Mapped[int]
    key: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # {"attempts": n, "backoff": {"type": "fixed"|"exponential", "delay": seconds}}
    retry: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    continue_on_error: Mapped[bool] = mapped_column(Boolean, default=False)
    # "Run only if": {"match": "all"|"any", "conditions": [...]} (app.actions.conditions)
    run_if: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    # Where the step is in the tree (one row per step of the whole tree, `position` in
    # pre-order): the key of the loop or paths step holding it (NULL at top level), and in a
    # paths step its branch's key or "otherwise" (NULL in a loop body and at top level).
    parent_key: Mapped[str | None] = mapped_column(String(64))
    branch: Mapped[str | None] = mapped_column(String(32))
    # A paths step's branches and otherwise: {"branches": [{"key", "name", "condition"}],
    # "otherwise": {"name"} | null}; NULL for every other step.
    flow: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    # Last output seen for this step ("test step" or an execution), for the data picker.
    sample_output: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)

    workflow: Mapped[Workflow] = relationship(back_populates="actions")

    __table_args__ = (
        UniqueConstraint("workflow_id", "key", name="uq_actions_workflow_id_key"),
        Index("ix_actions_workflow_id_position", "workflow_id", "position"),
        NEVER_REUSE_IDS,
    )
