"""Transform action: build new fields from templates."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from app.actions.base import ActionConfig, BaseActionHandler
from app.engine.context import StepContext


class TransformConfig(ActionConfig):
    fields: dict[str, Any] = Field(
        description=(
            "Output fields. Each value is a template or JSON; a value that is exactly one "
            "{{ expression }} keeps its type (number, list, object)."
        ),
        json_schema_extra={"format": "json"},
    )


class TransformAction(BaseActionHandler):
    """Set output fields from templates over the trigger and earlier steps."""

    type = "transform"
    category = "Data"
    name = "Transform"
    description = "Set output fields from templates over the trigger and earlier steps."
    Config = TransformConfig
    pure = True

    def execute(self, context: StepContext, config: TransformConfig) -> dict[str, Any]:
        return dict(config.fields)
