"""What the execution page says about each step (services.executions.explain), from rows built in
memory: a filter's decision with the values it saw, and every reason a step is skipped."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.models import Execution, ExecutionStep
from app.services.executions.explain import Check, Group, stories
from app.services.executions.step_views import ExecutionDetail, StepView

NOW = datetime(2026, 12, 6, 12, 0)


def _detail(
    actions: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    *,
    status: str = "completed",
    rerun_of: int | None = None,
) -> ExecutionDetail:
    execution = Execution(
        id=1,
        status=status,
        snapshot={"actions": actions},
        workflow_version=1,
        rerun_of_id=rerun_of,
    )
    views = []
    for position, (action, row) in enumerate(zip(actions, rows, strict=True)):
        step = ExecutionStep(
            id=10 + position,
            position=position,
            action_key=action["key"],
            action_type=action["type"],
            started_at=NOW if row.get("status", "completed") != "skipped" else None,
            **{"status": "completed", **row},
        )
        views.append(StepView(step, action.get("name") or action["key"]))
    return ExecutionDetail(execution, views, [], 1)


def _filter(conditions: list[Any], match: str = "all") -> dict[str, Any]:
    return {
        "key": "check",
        "type": "filter",
        "name": "Check",
        "config": {"conditions": conditions, "match": match},
    }


LOG = {"key": "after", "type": "log", "name": "After", "config": {"message": "x"}}


def test_all_conditions_two_of_which_failed_are_counted_and_listed() -> None:
    written = [
        {"left": "{{ trigger.a }}", "operator": "equals", "right": 1},
        {"left": "Order {{ trigger.id }}", "operator": "contains", "right": "7"},
        {"left": 5, "operator": "less_than", "right": 3},
    ]
    seen = [
        {"left": 1, "operator": "equals", "right": 1},
        {"left": "Order 12", "operator": "contains", "right": "7"},
        {"left": 5, "operator": "less_than", "right": 3},
    ]
    detail = _detail(
        [_filter(written), LOG],
        [
            {
                "input": {"conditions": seen},
                "output": {"passed": False, "results": [True, False, False]},
            },
            {"status": "skipped"},
        ],
    )

    told = stories(detail)

    assert told[11].skipped == (
        "Skipped: the filter “Check” (step 1) stopped the run: 2 of its 3 conditions did not hold."
    )
    verdict = told[10].verdict
    assert verdict is not None and not verdict.passed
    first, second, third = verdict.items
    assert isinstance(first, Check) and first.text == "trigger.a (= 1) is equal to 1"
    # a template with text around it is shown as written, with what it became
    assert isinstance(second, Check)
    assert second.text == 'Order {{ trigger.id }} (= "Order 12") contains "7"'
    # a value written as is needs no "(= …)"
    assert isinstance(third, Check) and third.text == "5 is less than 3" and not third.templated


def test_a_group_keeps_its_own_results() -> None:
    written = [
        {"match": "any", "conditions": [{"left": "{{ trigger.x }}", "operator": "is_empty"}]}
    ]
    detail = _detail(
        [_filter(written)],
        [
            {
                "input": {
                    "conditions": [
                        {"match": "any", "conditions": [{"left": "", "operator": "is_empty"}]}
                    ]
                },
                "output": {
                    "passed": True,
                    "results": [{"match": "any", "passed": True, "results": [True]}],
                },
            }
        ],
    )

    (group,) = stories(detail)[10].verdict.items  # type: ignore[union-attr]

    assert isinstance(group, Group) and group.held is True and group.match == "any"
    assert group.checks[0].text == 'trigger.x (= "") is empty' and group.checks[0].held is True


def test_cancelled_rerun_and_unrecorded_filters_have_their_words() -> None:
    # a cancelled run
    cancelled = _detail([LOG], [{"status": "skipped"}], status="cancelled")
    assert stories(cancelled)[10].skipped == "Not run: the run was cancelled."
    # a re-run that started after a step that had not run the first time
    rerun = _detail([LOG], [{"status": "skipped"}], rerun_of=5)
    assert stories(rerun)[10].skipped == "Skipped: this re-run started at a later step."
    # a filter whose output was reused without its input: the values are "not recorded"
    reused = _detail(
        [_filter([{"left": "{{ trigger.a }}", "right": 2}]), LOG],
        [{"output": {"passed": False, "results": []}}, {"status": "skipped"}],
    )
    told = stories(reused)
    (check,) = told[10].verdict.items  # type: ignore[union-attr]
    assert isinstance(check, Check) and check.held is None
    assert check.text == "trigger.a is equal to 2 (values not recorded)"
    assert told[11].decisive is None
    # a failed step after continue-on-error does not explain later skips
    lenient = {"key": "lenient", "type": "log", "continue_on_error": True}
    later = _detail([lenient, LOG], [{"status": "failed"}, {"status": "skipped"}])
    assert stories(later)[11].skipped == "Skipped."
