"""The structured widgets' values (app.web.editor.rows) and plain-word messages
(app.services.workflows.validation_messages): what a row shows reads back as the same value, type
for type."""

from __future__ import annotations

import json
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from app.actions.filter import FilterConfig
from app.actions.http_request import HttpRequestConfig
from app.services.workflows import validation_messages
from app.web.editor import forms, rows

LOOSE_VALUES: list[Any] = [
    "{{ trigger.id }}",
    "plain text",
    "42",
    "true",
    "null",
    "",
    " padded ",
    "NaN",
    42,
    1.5,
    True,
    None,
    [1, "a"],
    {"x": {"y": 1}},
]


@pytest.mark.parametrize("value", LOOSE_VALUES, ids=[json.dumps(v) for v in LOOSE_VALUES])
def test_a_value_of_any_type_reads_back_as_itself(value: Any) -> None:
    shown = rows.show_loose(value, rows.BLANK)
    again = rows.read_loose(shown, "")
    assert json.dumps(again) == json.dumps(value)


def test_rows_come_in_the_order_they_are_posted_whatever_their_index() -> None:
    form = MultiDict(
        [
            ("config.headers-7-key", "B"),
            ("config.headers-7-value", "2"),
            ("config.headers-0-key", "A"),
            ("config.headers-0-value", "1"),
            ("config.headers-3-key", ""),
            ("config.headers-3-value", ""),
        ]
    )
    parsed = forms.parse(forms.form_fields(HttpRequestConfig), form)
    assert list(parsed.config["headers"].items()) == [("B", "2"), ("A", "1")]


def test_rows_the_page_adds_have_letter_indexes_and_are_read_too() -> None:
    form = MultiDict(
        [
            ("config.headers-0-key", "A"),
            ("config.headers-0-value", "1"),
            ("config.headers-nlz3k1-key", "B"),
            ("config.headers-nlz3k1-value", "2"),
        ]
    )
    parsed = forms.parse(forms.form_fields(HttpRequestConfig), form)
    assert parsed.config["headers"] == {"A": "1", "B": "2"}


def test_a_row_without_a_name_or_a_name_used_twice_is_refused_by_row() -> None:
    nameless = rows.read_pairs([{"key": "", "value": "x"}], loose=False)
    twice = rows.read_pairs([{"key": "a", "value": "1"}, {"key": "a", "value": "2"}], False)
    assert nameless[1] == "Row 1: give this value a name."
    assert twice[1] == "Row 2: the name “a” is used twice."


def test_the_condition_builder_knows_the_engines_operators_in_words() -> None:
    (conditions, match) = forms.form_fields(FilterConfig)
    assert conditions.widget == "conditions" and conditions.partner == "match"
    assert match.widget == "merged"
    operators = [text for text, _ in conditions.choices]
    assert operators[:2] == ["equals", "not_equals"]
    assert conditions.words("not_equals") == "is not equal to"
    assert conditions.unary == {"is_empty", "is_not_empty", "is_true", "is_false"}
    form = MultiDict(
        [
            ("config.conditions-0-left", "{{ trigger.x }}"),
            ("config.conditions-0-operator", "is_empty"),
            ("config.conditions-0-right", "ignored"),
            ("config.match", "any"),
        ]
    )
    parsed = forms.parse([conditions, match], form)
    assert parsed.config == {
        "conditions": [{"left": "{{ trigger.x }}", "operator": "is_empty", "right": None}],
        "match": "any",
    }


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("Field required", "Required."),
        ("String should have at least 1 character", "Required."),
        ("String should have at most 200 characters", "Use at most 200 characters."),
        ("Input should be greater than 0", "Enter a number above 0."),
        ("Input should be 'GET', 'POST' or 'PUT'", "Choose one of: GET, POST, PUT."),
        (
            "Value error, a body is set but body_type is 'none'",
            "Choose a body type, or leave the body empty.",
        ),
        ("Value error, something a plugin says", "Something a plugin says."),
    ],
)
def test_pydantic_messages_in_plain_words(raw: str, plain: str) -> None:
    assert validation_messages.plain(raw) == plain


def test_a_message_about_the_whole_config_goes_to_the_field_it_names() -> None:
    names = list(HttpRequestConfig.model_fields)
    assert (
        validation_messages.locate("Value error, a body is set but body_type is 'none'", names)
        == "body"
    )
    assert validation_messages.locate(
        "Value error, auth_type 'basic' needs auth_password", names
    ) == ("auth_password")
    assert (
        validation_messages.locate("Value error, timeout_seconds is odd", names)
        == "timeout_seconds"
    )
    assert validation_messages.locate("Value error, nothing known", names) is None
