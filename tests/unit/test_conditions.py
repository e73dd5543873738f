"""Conditions and groups of them (app.actions.conditions): what a stored filter config means,
how a group is evaluated and recorded in the filter's output, and how the condition builder
reads and shows groups (app.web.editor.rows, forms, widgets)."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import BaseModel, ValidationError
from werkzeug.datastructures import MultiDict

from app.actions.conditions import ConditionGroup, ConditionItem, evaluate
from app.actions.filter import FilterAction, FilterConfig
from app.config import build
from app.engine.errors import StopWorkflow
from app.web.editor import forms, rows
from tests.fakes.context import make_step_context

SETTINGS = build({"SECRET_KEYS": Fernet.generate_key().decode()})


def config(conditions: list[Any], match: str = "all") -> FilterConfig:
    return FilterConfig.model_validate({"conditions": conditions, "match": match})


def test_a_stored_flat_config_still_validates_and_means_the_same() -> None:
    stored = {
        "conditions": [
            {"left": "paid", "operator": "equals", "right": "paid"},
            {"left": "", "operator": "is_empty", "right": None},
        ],
        "match": "all",
    }
    parsed = FilterConfig.model_validate(stored)
    assert parsed.model_dump(mode="json") == stored
    assert evaluate(parsed.conditions, parsed.match) == (True, [True, True])


def test_a_group_is_evaluated_with_its_own_match_and_recorded_per_condition() -> None:
    # (a AND b) OR c, with a false and c true
    parsed = config(
        [
            {
                "match": "all",
                "conditions": [
                    {"left": 5, "operator": "greater_than", "right": 3},
                    {"left": "x", "operator": "equals", "right": "y"},
                ],
            },
            {"left": "vip", "operator": "contains", "right": "v"},
        ],
        match="any",
    )
    assert isinstance(parsed.conditions[0], ConditionGroup)
    passed, results = evaluate(parsed.conditions, parsed.match)
    assert passed is True
    assert results == [{"match": "all", "passed": False, "results": [True, False]}, True]


@pytest.mark.parametrize(
    ("group_match", "top_match", "expected"),
    [("any", "all", True), ("all", "all", False), ("any", "any", True), ("all", "any", True)],
)
def test_group_and_top_level_matches_combine(
    group_match: str, top_match: str, expected: bool
) -> None:
    parsed = config(
        [
            {
                "match": group_match,
                "conditions": [
                    {"left": 1, "operator": "equals", "right": 1},
                    {"left": 1, "operator": "equals", "right": 2},
                ],
            },
            {"left": "a", "operator": "is_not_empty"},
        ],
        match=top_match,
    )
    assert evaluate(parsed.conditions, parsed.match)[0] is expected


def test_the_filter_records_the_groups_results_in_its_output_and_stops_when_false() -> None:
    action = FilterAction()
    group = {"match": "any", "conditions": [{"left": 1, "operator": "equals", "right": 2}]}
    passing = config([group, {"left": 1, "operator": "equals", "right": 1}], match="any")
    output = action.execute(make_step_context(SETTINGS), passing)
    assert output == {
        "passed": True,
        "results": [{"match": "any", "passed": False, "results": [False]}, True],
    }
    with pytest.raises(StopWorkflow) as stopped:
        action.execute(make_step_context(SETTINGS), config([group]))
    assert stopped.value.output == {
        "passed": False,
        "results": [{"match": "any", "passed": False, "results": [False]}],
    }


def test_an_error_inside_a_group_names_the_groups_field() -> None:
    with pytest.raises(ValidationError) as refused:
        config([{"left": 1}, {"match": "some", "conditions": [{"operator": "equals"}]}])
    locations = {tuple(e["loc"]) for e in refused.value.errors()}
    assert locations == {("conditions", 1, "match"), ("conditions", 1, "conditions", 0, "left")}
    with pytest.raises(ValidationError) as empty:
        config([{"match": "all", "conditions": []}])
    assert [tuple(e["loc"]) for e in empty.value.errors()] == [("conditions", 0, "conditions")]


def test_a_group_holds_conditions_only() -> None:
    with pytest.raises(ValidationError):
        config([{"match": "all", "conditions": [{"match": "any", "conditions": [{"left": 1}]}]}])


class RunIf(BaseModel):
    """Another model with the same type: it gets the same builder, groups included."""

    when: list[ConditionItem]


def test_the_builder_is_picked_from_the_fields_type_not_the_filters_name() -> None:
    (when,) = forms.form_fields(RunIf)
    assert when.widget == "conditions" and when.groups and when.partner == ""
    (conditions, _match) = forms.form_fields(FilterConfig)
    assert conditions.widget == "conditions" and conditions.groups


def test_groups_post_as_indexed_fields_in_any_order_and_blank_ones_are_skipped() -> None:
    fields = forms.form_fields(FilterConfig)
    form = MultiDict(
        [
            ("config.match", "any"),
            ("config.conditions-nb1-match", "any"),
            ("config.conditions-nb1-conditions-0-left", "{{ trigger.a }}"),
            ("config.conditions-nb1-conditions-0-operator", "is_empty"),
            ("config.conditions-nb1-conditions-0-right", "ignored"),
            ("config.conditions-nb1-conditions-nc2-left", "b"),
            ("config.conditions-nb1-conditions-nc2-operator", "less_than"),
            ("config.conditions-nb1-conditions-nc2-right", "3"),
            ("config.conditions-0-left", "c"),
            ("config.conditions-0-operator", "equals"),
            ("config.conditions-0-right", '"3"'),
            ("config.conditions-4-match", "all"),  # a blank group
            ("config.conditions-4-conditions-0-left", ""),
            ("config.conditions-4-conditions-0-operator", "equals"),
            ("config.conditions-4-conditions-0-right", ""),
        ]
    )
    parsed = forms.parse(fields, form)
    assert parsed.errors == {}
    assert parsed.config == {
        "conditions": [
            {
                "match": "any",
                "conditions": [
                    {"left": "{{ trigger.a }}", "operator": "is_empty", "right": None},
                    {"left": "b", "operator": "less_than", "right": 3},
                ],
            },
            {"left": "c", "operator": "equals", "right": "3"},
        ],
        "match": "any",
    }
    shown = forms.shown_values(fields, parsed.config)["config.conditions"]
    assert shown[0] == {
        "match": "any",
        "conditions": [
            {"left": "{{ trigger.a }}", "operator": "is_empty", "right": ""},
            {"left": "b", "operator": "less_than", "right": "3"},
        ],
    }
    assert shown[1] == {"left": "c", "operator": "equals", "right": '"3"'}


def test_a_group_with_an_unknown_match_or_operator_is_refused_in_words() -> None:
    operators, unary = ("equals", "is_empty"), frozenset({"is_empty"})
    condition = {"left": "a", "operator": "equals", "right": "b"}
    bad_match: list[dict[str, Any]] = [
        {"left": "", "operator": "", "right": ""},
        {"match": "x", "conditions": [condition]},
    ]
    assert rows.read_conditions(bad_match, operators, unary, groups=True)[1] == (
        "Group 2: choose all (AND) or any (OR)."
    )
    bad_operator = [{"match": "all", "conditions": [{**condition, "operator": "nope"}]}]
    assert rows.read_conditions(bad_operator, operators, unary, groups=True)[1] == (
        "Group 1, condition 1: choose how to compare."
    )
    assert rows.read_conditions(bad_operator, operators, unary)[1] == (
        "Group 1: groups cannot be used here."
    )


def test_a_message_inside_a_group_says_where_in_words() -> None:
    assert rows.condition_place("1.conditions.0.left") == "Group 2, condition 1, value to check"
    assert rows.condition_place("0.match") == "Group 1, all or any"
    assert rows.condition_place("2.conditions") == "Group 3"
    assert rows.condition_place("2.left") is None
