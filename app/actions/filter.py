"""Filter action: continue only when conditions hold; otherwise end the run as completed."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from app.actions.base import ActionConfig, BaseActionHandler
from app.actions.conditions import ConditionItem, Match, evaluate
from app.engine.context import StepContext
from app.engine.errors import StopWorkflow


class FilterConfig(ActionConfig):
    conditions: list[ConditionItem] = Field(
        min_length=1, description="Conditions to check; a group checks its own all or any."
    )
    match: Match = Field("all", description="Pass when all or any hold.")


class FilterAction(BaseActionHandler):
    """Continue only when the conditions hold; otherwise stop here and skip the later steps."""

    type = "filter"
    category = "Flow"
    name = "Filter"
    description = "Continue only when the conditions hold; otherwise stop and skip later steps."
    Config = FilterConfig
    pure = True

    def execute(self, context: StepContext, config: FilterConfig) -> dict[str, Any]:
        passed, results = evaluate(config.conditions, config.match)
        output = {"passed": passed, "results": results}
        if not passed:
            raise StopWorkflow(output)
        return output
