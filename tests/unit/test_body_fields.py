"""The HTTP body editor builds a JSON object from fields (no JSON to write): rows posted with
the body type JSON become the body object, typed as the key/value rows type their values; a
flat object is shown as those fields again, and nested JSON stays in the text box."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from app.actions.http_request import HttpRequestConfig
from app.web.editor import forms

FIELDS = forms.form_fields(HttpRequestConfig)


def test_json_fields_become_the_body_object() -> None:
    form = MultiDict(
        [
            ("config.url", "https://example.com/orders"),
            ("config.body_type", "json"),
            ("config.body-0-key", "customer"),
            ("config.body-0-value", "{{ steps.transform.name }}"),
            ("config.body-n1a-key", "total"),
            ("config.body-n1a-value", "42"),
            ("config.body", ""),
        ]
    )

    parsed = forms.parse(FIELDS, form)

    assert parsed.errors == {}
    assert parsed.config["body_type"] == "json"
    assert parsed.config["body"] == {"customer": "{{ steps.transform.name }}", "total": 42}


def test_fields_and_written_json_together_are_refused_in_words() -> None:
    form = MultiDict(
        [
            ("config.url", "https://example.com/orders"),
            ("config.body_type", "json"),
            ("config.body-0-key", "customer"),
            ("config.body-0-value", "Ada"),
            ("config.body", '{"customer": "Ada"}'),
        ]
    )

    parsed = forms.parse(FIELDS, form)

    assert parsed.errors["config.body"] == "Fill in the fields or write the JSON, not both."


def test_a_flat_json_body_shows_as_fields_and_nested_json_as_text() -> None:
    flat = forms.shown_values(FIELDS, {"body_type": "json", "body": {"customer": "Ada", "n": 1}})
    nested = forms.shown_values(FIELDS, {"body_type": "json", "body": {"items": [1, 2]}})

    assert flat["config.body"]["rows"] == [
        {"key": "customer", "value": "Ada"},
        {"key": "n", "value": "1"},
    ]
    assert flat["config.body"]["text"] == ""
    assert nested["config.body"]["rows"] == []
    assert '"items"' in nested["config.body"]["text"]


def test_rows_a_page_added_are_read_whatever_their_index() -> None:
    form = MultiDict(
        [
            ("config.url", "https://example.com/orders"),
            ("config.headers-0-key", "X-One"),
            ("config.headers-0-value", "1"),
            ("config.headers-nmxcbg8ve1-key", "X-Two"),
            ("config.headers-nmxcbg8ve1-value", "2"),
        ]
    )

    parsed = forms.parse(FIELDS, form)

    assert parsed.config["headers"] == {"X-One": "1", "X-Two": "2"}
