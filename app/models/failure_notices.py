"""The failure notification state of a workflow's channel: its storm limit and its pending
notice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId


class FailureNotice(Base):
    """One row per workflow and channel (`email`, `slack`) that has had a failure to tell of
    (services.executions.failure_notices).

    Failures add to `pending` (the latest in `latest_execution_id`). A notice goes out once
    `pending` > 0 and `due_at` has passed, and takes the failures it told of off `pending`.
    `due_at` is when the next notice may go: NULL before the first, the last one's time plus
    the workflow's interval after it (the storm limit), a sender's claim while it sends, the
    back-off after a send failed (`attempts`, `last_error`)."""

    __tablename__ = "failure_notices"

    workflow_id: Mapped[int] = mapped_column(
        ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    pending: Mapped[int] = mapped_column(default=0, server_default="0")
    # Not a foreign key: retention may delete the run; the notice then says less about it.
    latest_execution_id: Mapped[int | None] = mapped_column(BigId)
    first_pending_at: Mapped[datetime | None]
    last_sent_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # The notices with failures to tell of, by when they may go.
        Index(
            "ix_failure_notices_pending_due",
            "due_at",
            postgresql_where=text("pending > 0"),
            sqlite_where=text("pending > 0"),
        ),
    )
