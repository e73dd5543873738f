"""A third-party Stepline plugin: one trigger and one action, added through entry points only.

It is the package docs/plugins.md describes. Installed, its distribution declares (see the
dist-info folder beside it, which is what `pip install` would write):

    [stepline.actions]
    repeat = stepline_countdown:RepeatAction

    [stepline.triggers]
    countdown = stepline_countdown:CountdownTrigger

Stepline's code names neither class; its registries find them in those entry-point groups.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import Field
from sqlalchemy.orm import Session

from app.actions.base import ActionConfig, BaseActionHandler
from app.engine.context import StepContext
from app.models import Trigger
from app.models.base import utcnow
from app.triggers.base import BaseTriggerHandler, PollContext, PollEvent, TriggerConfig


class CountdownConfig(TriggerConfig):
    start: int = Field(3, ge=1, le=1000, description="How many times the trigger fires.")
    every_seconds: float = Field(
        60.0, ge=0.1, le=86_400, description="Seconds between two firings."
    )


class CountdownTrigger(BaseTriggerHandler):
    """Fire `start` times, one every `every_seconds`, counting down to zero, then stop."""

    type = "countdown"
    name = "Countdown"
    description = "Fire a given number of times at a fixed interval, counting down to zero."
    Config = CountdownConfig
    polling = True  # the scheduler calls `poll` whenever `next_run_at` is due
    poll_every = 60.0  # the scheduler's default step; `poll` sets the configured one

    def register(self, session: Session, trigger: Trigger) -> None:
        """Enabled: count from `start`, first firing on the scheduler's next pass."""
        config = CountdownConfig.model_validate(trigger.config)
        trigger.state = {"remaining": config.start}
        trigger.next_run_at = utcnow()

    def unregister(self, session: Session, trigger: Trigger) -> None:
        """Disabled: nothing is due; enabling again starts the count afresh."""
        trigger.state = {}
        trigger.next_run_at = None

    def poll(self, session: Session, trigger: Trigger, context: PollContext) -> list[PollEvent]:
        """One event per poll; the count moves down with that event's execution."""
        config = CountdownConfig.model_validate(trigger.config)
        remaining = int((trigger.state or {}).get("remaining", 0))
        if remaining <= 0:  # done: no longer due
            trigger.next_run_at = None
            return []
        left = remaining - 1
        trigger.next_run_at = utcnow() + timedelta(seconds=config.every_seconds) if left else None
        data = {"remaining": left, "of": config.start}
        return [PollEvent(data=data, state={"remaining": left})]

    def problem(self, trigger: Trigger) -> str | None:
        if trigger.next_run_at is None and (trigger.state or {}).get("remaining") == 0:
            return "The countdown is over; disable and enable the workflow to start it again."
        return None


class RepeatConfig(ActionConfig):
    text: str = Field(max_length=1000, description="Text to repeat; may use templates.")
    times: int = Field(2, ge=1, le=100, description="How many copies.")
    separator: str = Field(" ", max_length=10, description="Put between two copies.")


class RepeatAction(BaseActionHandler):
    """Repeat a text a number of times."""

    type = "repeat"
    name = "Repeat"
    description = "Repeat a text a number of times, with a separator between copies."
    Config = RepeatConfig
    pure = True  # the output depends on the rendered config alone

    def execute(self, context: StepContext, config: RepeatConfig) -> dict[str, Any]:
        return {"text": config.separator.join([config.text] * config.times), "times": config.times}
