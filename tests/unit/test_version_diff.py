"""services.workflows.version_diff: what changed between two saved definitions, in words History
shows."""

from __future__ import annotations

import copy
from typing import Any

from app.services.workflows.tree import SEPARATOR
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


WHEN = {"match": "all", "conditions": [{"left": "{{ trigger.a }}", "right": 1}]}


def nested() -> dict[str, Any]:
    spec = copy.deepcopy(BEFORE)
    spec["steps"].append(
        {
            "key": "route",
            "type": "paths",
            "name": "Route",
            "config": {"mode": "first"},
            "branches": [
                {"key": "a", "name": "Big", "condition": WHEN, "steps": []},
                {"key": "b", "name": "Small", "condition": WHEN, "steps": [
                    {"key": "note", "type": "log", "name": "Note", "config": {"message": "m"}}
                ]},
            ],
            "otherwise": {"name": "Otherwise", "steps": []},
        }
    )  # fmt: skip
    return spec


def in_(*parts: str) -> str:
    return SEPARATOR.join(parts)


def test_a_change_inside_a_branch_names_where_it_is() -> None:
    changed = nested()
    changed["steps"][3]["branches"][1]["steps"][0]["config"]["message"] = "n"

    assert [str(c) for c in diff(nested(), changed)] == [
        f'{in_("Step 4", "Branch b", "step 1")} “Note” (log): config.message "m" → "n"'
    ]


def test_a_step_moved_into_a_branch_and_branch_changes() -> None:
    def edit(spec: dict[str, Any]) -> None:
        route = spec["steps"][3]
        route["branches"][0]["steps"].append(spec["steps"].pop(2))  # log into branch a
        route["branches"][0]["condition"] = {**WHEN, "match": "any"}
        route["branches"].append({"key": "c", "name": "New", "condition": WHEN, "steps": []})
        route["otherwise"] = None

    changes = diff(nested(), after_nested(edit))

    assert (
        Change("moved", f"{in_('Step 3', 'Branch a', 'step 1')} “Log” (log)", None, "3", "3/a/1")
        in changes
    )
    assert (
        Change("changed", in_("Step 3", "Branch a"), "condition.match", '"all"', '"any"') in changes
    )
    assert Change("added", in_("Step 3", "Branch c")) in changes
    assert Change("removed", in_("Step 3", "Otherwise")) in changes


def after_nested(change: Any) -> dict[str, Any]:
    spec = nested()
    change(spec)
    return spec
