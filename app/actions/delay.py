"""Delay action: wait before the next step, without holding a worker thread."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from app.actions.base import ActionConfig, BaseActionHandler
from app.engine.context import StepContext
from app.engine.errors import Suspend

UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
MAX_DELAY_SECONDS = 30 * 86400


class DelayConfig(ActionConfig):
    amount: float = Field(gt=0, description="How long to wait.")
    unit: Literal["seconds", "minutes", "hours", "days"] = "seconds"


class DelayAction(BaseActionHandler):
    """Wait for a while, then continue with the next step."""

    type = "delay"
    category = "Flow"
    name = "Delay"
    description = "Wait for a while (up to 30 days), then continue with the next step."
    Config = DelayConfig

    def execute(self, context: StepContext, config: DelayConfig) -> dict[str, Any]:
        seconds = min(config.amount * UNIT_SECONDS[config.unit], MAX_DELAY_SECONDS)
        resume_at = datetime.now(UTC) + timedelta(seconds=seconds)
        raise Suspend(seconds, {"waited_seconds": seconds, "resume_at": resume_at.isoformat()})
