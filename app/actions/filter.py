"""Filter action: continue only when conditions hold; otherwise end the run as completed."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from app.actions.base import ActionConfig, BaseActionHandler
from app.engine.context import StepContext
from app.engine.errors import StopWorkflow

Operator = Literal[
    "equals",
    "not_equals",
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
    "greater_than",
    "less_than",
    "is_empty",
    "is_not_empty",
    "is_true",
    "is_false",
]


class Condition(ActionConfig):
    left: Any = Field(description="A value, usually a template such as {{ trigger.status }}.")
    operator: Operator = "equals"
    right: Any = Field(None, description="The value to compare with (unused by is_* operators).")


class FilterConfig(ActionConfig):
    conditions: list[Condition] = Field(min_length=1, description="Conditions to check.")
    match: Literal["all", "any"] = Field("all", description="Pass when all or any hold.")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _same(left: Any, right: Any) -> bool:
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return a == b
    return str(left) == str(right) if not isinstance(left, dict | list) else left == right


def holds(condition: Condition) -> bool:
    """Evaluate one condition; numbers compare as numbers, everything else as text."""
    left, right, op = condition.left, condition.right, condition.operator
    if op == "equals":
        return _same(left, right)
    if op == "not_equals":
        return not _same(left, right)
    if op in ("contains", "not_contains"):
        inside = str(right) in left if isinstance(left, str) else right in (left or [])
        return inside if op == "contains" else not inside
    if op == "starts_with":
        return str(left).startswith(str(right))
    if op == "ends_with":
        return str(left).endswith(str(right))
    if op in ("greater_than", "less_than"):
        a, b = _number(left), _number(right)
        if a is None or b is None:
            return False
        return a > b if op == "greater_than" else a < b
    if op in ("is_empty", "is_not_empty"):
        empty = left is None or left == "" or left == [] or left == {}
        return empty if op == "is_empty" else not empty
    truthy = str(left).strip().lower() in {"true", "1", "yes", "on"}
    return truthy if op == "is_true" else not truthy


class FilterAction(BaseActionHandler):
    """Continue only when the conditions hold; otherwise stop here and skip the later steps."""

    type = "filter"
    name = "Filter"
    description = "Continue only when the conditions hold; otherwise stop and skip later steps."
    Config = FilterConfig
    pure = True

    def execute(self, context: StepContext, config: FilterConfig) -> dict[str, Any]:
        results = [holds(c) for c in config.conditions]
        passed = all(results) if config.match == "all" else any(results)
        output = {"passed": passed, "results": results}
        if not passed:
            raise StopWorkflow(output)
        return output
