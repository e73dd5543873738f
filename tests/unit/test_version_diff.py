"""services.workflows.version_diff: what changed between two saved definitions, in words History
shows."""

from __future__ import annotations

import copy
from typing import Any

from app.services.workflows.version_diff import Change, diff, flatten, shown

BEFORE: dict[str, Any] = {
    "name": "Orders",
    "description": "",
    "trigger": {"type": "webhook", "config": {"methods": ["POST"]}, "sample_data": {"a": 1}},
    "steps": [
        {"key": "shape", "type": "transform", "name": "Shape", "config": {"fields": {"a": "1"}}},
        {"key": "paid", "type": "filter", "name": "Paid", "config": {"match": "all"}},
        {"key": "log", "type": "log", "name": "Log", "config": {"message": "hi"}},
    ],
    "run_key_template": None,
}


def after(change: Any) -> dict[str, Any]:
    spec = copy.deepcopy(BEFORE)
    change(spec)
    return spec


def test_the_same_definition_has_no_change() -> None:
    assert diff(BEFORE, copy.deepcopy(BEFORE)) == []


def test_a_changed_config_field_reads_before_and_after() -> None:
    changed = after(lambda s: s["steps"][2]["config"].update(message="New order"))

    assert diff(BEFORE, changed) == [
        Change("changed", "Step “Log” (log)", "config.message", '"hi"', '"New order"')
    ]
    assert str(diff(BEFORE, changed)[0]) == 'Step “Log” (log): config.message "hi" → "New order"'


def test_nested_fields_are_compared_by_dotted_path() -> None:
    changed = after(lambda s: s["steps"][0]["config"]["fields"].update(b="{{ trigger.a }}"))

    assert diff(BEFORE, changed) == [
        Change(
            "changed", "Step “Shape” (transform)", "config.fields.b", "(none)", '"{{ trigger.a }}"'
        )
    ]


def test_added_and_removed_steps_are_named() -> None:
    def edit(spec: dict[str, Any]) -> None:
        del spec["steps"][1]
        spec["steps"].append({"key": "wait", "type": "delay", "name": "", "config": {"amount": 1}})

    assert diff(BEFORE, after(edit)) == [
        Change("removed", "Step “Paid” (filter)"),
        Change("added", "Step “wait” (delay)"),
    ]


def test_a_moved_step_is_the_one_that_left_the_common_order() -> None:
    def edit(spec: dict[str, Any]) -> None:
        spec["steps"].insert(0, spec["steps"].pop(2))  # log first

    assert diff(BEFORE, after(edit)) == [Change("moved", "Step “Log” (log)", None, "3", "1")]
    assert str(diff(BEFORE, after(edit))[0]) == "Step “Log” (log) moved from position 3 to 1"


def test_renamed_disabled_and_retyped_steps_and_workflow_fields() -> None:
    def edit(spec: dict[str, Any]) -> None:
        spec["name"] = "Paid orders"
        spec["steps"][1].update(name="Only paid", enabled=False)
        spec["trigger"] = {"type": "manual", "config": {}, "sample_data": {"a": 1}}

    changes = diff(BEFORE, after(edit))

    assert Change("changed", "Workflow", "name", '"Orders"', '"Paid orders"') in changes
    assert Change("changed", "Trigger", "type", '"webhook"', '"manual"') in changes
    assert Change("changed", "Trigger", "config.methods", '["POST"]', "(none)") in changes
    assert Change("changed", "Step “Only paid” (filter)", "enabled", "true", "false") in changes
    assert (
        Change("changed", "Step “Only paid” (filter)", "name", '"Paid"', '"Only paid"') in changes
    )


def test_long_values_are_shortened_and_maps_flattened() -> None:
    assert shown("x" * 200).endswith("…") and len(shown("x" * 200)) == 60
    assert flatten({"a": {"b": 1, "c": {}}, "d": [1]}) == {"a.b": 1, "a.c": {}, "d": [1]}
