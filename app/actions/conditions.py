"""Conditions the engine checks: `left · operator · right`, and groups of them.

A list of conditions (`list[ConditionItem]`) holds single conditions and groups; a group has
its own `match` ("all": AND, "any": OR) over its conditions, so that the list, with the
owner's own `match`, reads "(a AND b) OR c". One level of groups: a group holds conditions
only. The editor's condition builder is picked from this type (app.web.editor.widgets), so any
config field of the type gets it, e.g. a filter's conditions.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, ValidatorFunctionWrapHandler, WrapValidator

from app.actions.base import ActionConfig

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
Match = Literal["all", "any"]
# How the editor says each operator, on the condition builder and on the cards.
OPERATOR_WORDS: dict[str, str] = {
    "equals": "is equal to",
    "not_equals": "is not equal to",
    "contains": "contains",
    "not_contains": "does not contain",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "greater_than": "is greater than",
    "less_than": "is less than",
    "is_empty": "is empty",
    "is_not_empty": "is not empty",
    "is_true": "is true",
    "is_false": "is false",
}
# The operators that compare with nothing: the builder hides their right-hand value.
UNARY = frozenset({"is_empty", "is_not_empty", "is_true", "is_false"})


class Condition(ActionConfig):
    left: Any = Field(description="A value, usually a template such as {{ trigger.status }}.")
    operator: Operator = "equals"
    right: Any = Field(None, description="The value to compare with (unused by is_* operators).")


class ConditionGroup(ActionConfig):
    """Conditions checked together: all of them (AND) or any of them (OR)."""

    match: Match = Field("all", description="Hold when all or any of the conditions hold.")
    conditions: list[Condition] = Field(min_length=1, description="The group's conditions.")


def _one_of(value: Any, handler: ValidatorFunctionWrapHandler) -> Condition | ConditionGroup:
    """A group when the item has conditions of its own, else a condition: each is validated
    as its own model, so an error's location is the item's field (`1.conditions.0.left`),
    not a union member's name."""
    if isinstance(value, Condition | ConditionGroup):
        return value
    if isinstance(value, dict) and "conditions" in value:
        return ConditionGroup.model_validate(value)
    return Condition.model_validate(value)


ConditionItem = Annotated[Condition | ConditionGroup, WrapValidator(_one_of)]


class ConditionSet(ActionConfig):
    """Conditions with their own all/any: a step's "Run only if" (`run_if` on the step's
    definition); the step runs only when they hold, else it is skipped."""

    conditions: list[ConditionItem] = Field(
        min_length=1, description="Conditions to check; a group checks its own all or any."
    )
    match: Match = Field("all", description="Run the step when all or any hold.")


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


Result = bool | dict[str, Any]


def evaluate(items: list[Condition | ConditionGroup], match: Match) -> tuple[bool, list[Result]]:
    """Whether the items hold together (`match` all or any), and what each one gave: a
    condition's True or False, a group's {"match", "passed", "results"}. Every item is
    checked (no short cut), so that the results say which conditions held."""
    results: list[Result] = []
    passes: list[bool] = []
    for item in items:
        if isinstance(item, ConditionGroup):
            inner = [holds(c) for c in item.conditions]
            passed = all(inner) if item.match == "all" else any(inner)
            results.append({"match": item.match, "passed": passed, "results": inner})
        else:
            passed = holds(item)
            results.append(passed)
        passes.append(passed)
    return (all(passes) if match == "all" else any(passes)), results
