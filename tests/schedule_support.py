"""A schedule trigger driven by a clock of the test's own: no worker, no waiting."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import select, update

from app.config import settings_of
from app.extensions import container, db
from app.models import Execution, ScheduleSlot, Trigger
from app.services.scheduling import schedules
from app.settings import Settings
from app.triggers.cron import CronSchedule
from tests.hooks_support import executions_of, make_workflow, trigger_row

STEPS: list[dict[str, Any]] = [
    {"key": "note", "type": "log", "config": {"message": "{{ trigger.scheduled_at }}"}}
]


@dataclass
class Clocked:
    """One schedule workflow, enabled as if at `enabled_at`, fired by hand at chosen times."""

    app: Flask
    config: dict[str, Any]
    enabled_at: datetime
    workflow_id: int = 0
    sent: list[tuple[int, int, int, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.workflow_id = make_workflow(
            self.app, {"type": "schedule", "config": self.config}, STEPS
        )
        schedule = CronSchedule.parse(self.config["cron"], self.config.get("timezone", "UTC"))
        self.set_next_run_at(schedule.next_after(self.enabled_at))

    def send(
        self, execution_id: int, position: int, attempt: int, delay: float, frame: str = ""
    ) -> None:
        self.sent.append((execution_id, position, attempt, delay))

    @property
    def settings(self) -> Settings:
        return settings_of(self.app)

    def fire(self, now: datetime) -> int:
        """One scheduler pass at `now`."""
        factory = container(self.app).session_factory
        return schedules.fire_due(factory, send=self.send, settings=self.settings, now=now)

    def start_queued(self, now: datetime) -> int:
        factory = container(self.app).session_factory
        return schedules.start_queued(factory, send=self.send, settings=self.settings, now=now)

    @property
    def next_run_at(self) -> datetime | None:
        return trigger_row(self.app, self.workflow_id).next_run_at

    def set_next_run_at(self, when: datetime | None) -> None:
        with self.app.app_context():
            db.session.execute(
                update(Trigger)
                .where(Trigger.workflow_id == self.workflow_id)
                .values(next_run_at=when)
            )
            db.session.commit()

    def executions(self) -> list[Execution]:
        return executions_of(self.app, self.workflow_id)

    def fired_at(self) -> list[str]:
        """The `scheduled_at` of every execution, oldest first."""
        return [e.trigger_data["scheduled_at"] for e in self.executions()]

    def finish_all(self) -> None:
        """The running executions complete (as a worker would make them)."""
        with self.app.app_context():
            db.session.execute(
                update(Execution)
                .where(Execution.workflow_id == self.workflow_id)
                .values(status="completed", lease_expires_at=None)
            )
            db.session.commit()

    def slots(self) -> list[tuple[str, str]]:
        trigger_id = trigger_row(self.app, self.workflow_id).id
        with self.app.app_context():
            rows = db.session.execute(
                select(ScheduleSlot.slot_at, ScheduleSlot.status)
                .where(ScheduleSlot.trigger_id == trigger_id)
                .order_by(ScheduleSlot.slot_at)
            ).all()
            return [(at.isoformat(), status) for at, status in rows]
