"""Manual trigger: run by a person (Run now) or a script, with an optional JSON payload."""

from __future__ import annotations

from app.triggers.base import BaseTriggerHandler, TriggerConfig


class ManualConfig(TriggerConfig):
    pass


class ManualTrigger(BaseTriggerHandler):
    """Run the workflow by hand or through the API, with an optional JSON payload."""

    type = "manual"
    category = "Flow"
    name = "Manual"
    description = "Run the workflow by hand or through the API, with an optional JSON payload."
    Config = ManualConfig
