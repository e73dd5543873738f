"""What makes a trigger fire once: webhook deliveries seen (idempotency keys) and the schedule
slots already handled. Each is guarded by a unique constraint, so two web processes or two
schedulers that race on the same event insert one row and the loser rolls back."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, enum_column, utcnow


class WebhookDelivery(Base):
    """An idempotency key received on a webhook; a repeat before `expires_at` starts nothing
    and answers with `execution_id`."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    trigger_id: Mapped[int] = mapped_column(ForeignKey("triggers.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    execution_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("executions.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)

    __table_args__ = (
        UniqueConstraint("trigger_id", "key", name="uq_webhook_deliveries_trigger_id_key"),
    )


class SlotStatus(enum.StrEnum):
    FIRED = "fired"  # an execution was started for the slot
    SKIPPED = "skipped"  # overlap policy `skip`: the previous run was still going
    QUEUED = "queued"  # overlap policy `queue`: starts when the previous run has finished


class ScheduleSlot(Base):
    """One slot of a schedule trigger, handled at most once (unique per trigger and time)."""

    __tablename__ = "schedule_slots"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    trigger_id: Mapped[int] = mapped_column(ForeignKey("triggers.id", ondelete="CASCADE"))
    slot_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(enum_column(SlotStatus))
    execution_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("executions.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("trigger_id", "slot_at", name="uq_schedule_slots_trigger_id_slot_at"),
        Index("ix_schedule_slots_status_slot_at", "status", "slot_at"),
    )
