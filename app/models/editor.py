"""What the editor keeps beside a workflow: its earlier versions and the working draft."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import NEVER_REUSE_IDS, Base, JSONDoc, utcnow


class WorkflowVersion(Base):
    """A definition the workflow had before a save replaced it (History restores it).

    `spec` is the WorkflowSpec JSON of `services.workflows.crud.to_spec`: secrets are left out.
    """

    __tablename__ = "workflow_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    version: Mapped[int]
    spec: Mapped[dict[str, Any]]
    # When this version was saved (approximately: the workflow's last update before it was
    # replaced), and when a later save replaced it.
    saved_at: Mapped[datetime]
    replaced_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The note written when this version was saved, if any.
    note: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        UniqueConstraint("workflow_id", "version", name="uq_workflow_versions_workflow_id_version"),
        NEVER_REUSE_IDS,
    )


class WorkflowDraft(Base):
    """Unsaved edits of a workflow: the editor changes this, Save publishes it as a version.

    `spec` is a WorkflowSpec JSON whose steps always carry their key and whose secrets are
    kept encrypted; `samples` holds step outputs from "test this step", by step key; `inputs`
    what was typed but cannot be stored in the definition yet. Executions never read a draft:
    they run the saved definition.
    """

    __tablename__ = "workflow_drafts"

    workflow_id: Mapped[int] = mapped_column(
        ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True
    )
    # The workflow version the draft started from (a later save elsewhere is reported).
    base_version: Mapped[int]
    spec: Mapped[dict[str, Any]]
    samples: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # What a panel holds that the definition cannot yet (services.workflows.drafts.Draft.inputs): a
    # step key typed but not applied, "Edit as JSON" text that is not JSON yet.
    inputs: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
