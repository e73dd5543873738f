"""Schedule trigger: run on a cron expression in an IANA time zone.

The scheduler (app/services/scheduling/schedules.py) claims due triggers by `next_run_at`; this
handler validates the config, sets `next_run_at` when the workflow is enabled and clears it (and any
queued slots) when it is disabled.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.models import ScheduleSlot, SlotStatus, Trigger
from app.models.base import utcnow
from app.triggers.base import BaseTriggerHandler, TriggerConfig
from app.triggers.cron import CronSchedule, check_expression, parse_zone


class ScheduleConfig(TriggerConfig):
    cron: str = Field(
        description=(
            "Cron expression: minute hour day-of-month month day-of-week "
            "(e.g. `0 9 * * 1-5`, every weekday at 09:00), or @hourly, @daily, @weekly, @monthly."
        ),
        max_length=200,
    )
    timezone: str = Field(
        "UTC",
        description=(
            "IANA time zone the times are read in (e.g. Europe/Paris). Across DST changes a "
            "skipped time runs an hour later and a repeated time runs once."
        ),
    )
    overlap: Literal["skip", "queue", "allow"] = Field(
        "skip",
        description=(
            "When a run is due while the previous one is still going: skip it, queue it (it "
            "starts when the previous run has finished), or allow runs to overlap."
        ),
    )
    catch_up: Literal["run_once", "skip"] = Field(
        "run_once",
        description=(
            "After downtime (slots missed by more than a minute): run once for all of them, or "
            "skip them and wait for the next slot."
        ),
    )

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        try:
            return check_expression(value)
        except ValueError as exc:
            raise PydanticCustomError("cron", str(exc)) from None

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            parse_zone(value)
        except ValueError as exc:
            raise PydanticCustomError("timezone", str(exc)) from None
        return value

    def schedule(self) -> CronSchedule:
        return CronSchedule.parse(self.cron, self.timezone)


class ScheduleTrigger(BaseTriggerHandler):
    """Run the workflow on a schedule: a cron expression in a time zone."""

    type = "schedule"
    category = "Flow"
    name = "Schedule"
    description = "Run the workflow on a schedule: a cron expression in a time zone."
    Config = ScheduleConfig

    def register(self, session: Session, trigger: Trigger) -> None:
        """Enabled: the next slot from now on is due (slots before enabling never fire)."""
        config = ScheduleConfig.model_validate(trigger.config)
        trigger.next_run_at = config.schedule().next_after(utcnow())

    def unregister(self, session: Session, trigger: Trigger) -> None:
        """Disabled: nothing is due, and slots waiting behind a running execution are dropped."""
        trigger.next_run_at = None
        if trigger.id is not None:
            session.execute(
                update(ScheduleSlot)
                .where(
                    ScheduleSlot.trigger_id == trigger.id,
                    ScheduleSlot.status == SlotStatus.QUEUED,
                )
                .values(status=SlotStatus.SKIPPED)
            )
