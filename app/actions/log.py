"""Log action: record a message in the execution."""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import Field

from app.actions.base import ActionConfig, BaseActionHandler
from app.engine.context import StepContext

LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class LogConfig(ActionConfig):
    message: str = Field(
        min_length=1, max_length=10_000, description="Text to record; may use templates."
    )
    level: Literal["info", "warning", "error"] = Field("info", description="Severity.")


class LogAction(BaseActionHandler):
    """Record a message in the execution's output and the worker log."""

    type = "log"
    category = "Developer"
    name = "Log"
    description = "Record a message in the execution's output and the worker log."
    Config = LogConfig

    def execute(self, context: StepContext, config: LogConfig) -> dict[str, Any]:
        context.log.log(LEVELS[config.level], "log step: %s", config.message)
        return {"message": config.message, "level": config.level}
