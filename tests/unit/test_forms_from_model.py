"""Forms generated from config models, read back from posts; and the data picker's entries."""

from __future__ import annotations

import enum
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.actions.base import secret_field
from app.engine.redaction import REDACTED
from app.services.workflows.trials import Available, EarlierStep
from app.web.editor import forms, picker


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Item(BaseModel):
    left: Any = Field(description="A value.")
    operator: Literal["equals", "contains"] = "equals"


class Example(BaseModel):
    url: str = Field(description="Where to go.")
    message: str = Field("", max_length=10_000)
    count: int = 3
    ratio: float | None = None
    loud: bool = False
    mode: Literal["a", "b"] = "a"
    color: Color = Color.RED
    fields: dict[str, Any] = Field(default_factory=dict)
    items: list[Item] = Field(default_factory=list)
    body: Any = None
    token: str | None = secret_field(default=None, description="A token.")


def by_name() -> dict[str, forms.FormField]:
    return {f.name: f for f in forms.form_fields(Example)}


def test_each_type_gets_its_widget_with_label_help_and_required_mark() -> None:
    fields = by_name()

    assert [(n, f.widget) for n, f in fields.items()] == [
        ("url", "text"),
        ("message", "textarea"),
        ("count", "number"),
        ("ratio", "number"),
        ("loud", "checkbox"),
        ("mode", "select"),
        ("color", "select"),
        ("fields", "keyvalue"),
        ("items", "json"),
        ("body", "json"),
        ("token", "secret"),
    ]
    assert fields["url"].label == "URL" and fields["url"].required and fields["url"].help
    assert not fields["count"].required and fields["count"].integer
    assert fields["mode"].choices == (("a", "a"), ("b", "b"))
    assert fields["color"].choices == (("red", "red"), ("blue", "blue"))
    assert fields["body"].loose and fields["fields"].loose
    assert fields["items"].placeholder == '[{"left": "", "operator": "equals"}]'
    assert fields["url"].pickable and not fields["loud"].pickable


def test_shown_values_mask_secrets_and_fill_defaults() -> None:
    shown = forms.shown_values(
        forms.form_fields(Example),
        {"url": "https://x", "token": "enc:v1:abc", "fields": {"a": 1}, "loud": True},
    )

    assert shown["config.token"] == REDACTED
    assert shown["config.count"] == "3" and shown["config.mode"] == "a"
    assert shown["config.fields"] == [{"key": "a", "value": "1"}]
    assert shown["config.loud"] is True and shown["config.items"] == ""


def test_a_post_is_read_back_into_typed_config() -> None:
    form = {
        "config.url": "https://example.com/{{ trigger.id }}",
        "config.count": "7",
        "config.ratio": "{{ trigger.ratio }}",
        "config.loud": "1",
        "config.mode": "b",
        "config.color": "blue",
        "config.fields-0-key": "who",
        "config.fields-0-value": "{{ trigger.name }}",
        "config.body": "plain text, not JSON",
        "config.token": REDACTED,
        "config.message": "",
    }

    parsed = forms.parse(forms.form_fields(Example), form)

    assert parsed.errors == {}
    assert parsed.config == {
        "url": "https://example.com/{{ trigger.id }}",
        "count": 7,
        "ratio": "{{ trigger.ratio }}",
        "loud": True,
        "mode": "b",
        "color": "blue",
        "fields": {"who": "{{ trigger.name }}"},
        "body": "plain text, not JSON",
        "token": REDACTED,
    }


def test_what_cannot_be_read_is_reported_by_input_name() -> None:
    form = {"config.count": "many", "config.mode": "z", "config.items": "{oops"}

    parsed = forms.parse(forms.form_fields(Example), form)

    assert set(parsed.errors) == {"config.count", "config.mode", "config.items"}
    assert parsed.errors["config.count"].startswith("Enter a whole number")
    assert parsed.errors["config.items"].startswith("This is not valid JSON")
    assert parsed.config == {"loud": False}


def test_the_picker_lists_paths_as_templates() -> None:
    available = Available(
        trigger={"customer": {"email": "a@b.c"}, "first name": "Ada", "items": [{"sku": 1}]},
        trigger_is_sample=True,
        steps=[
            EarlierStep("shape", "Shape", True, {"total": 42}),
            EarlierStep("later", "Not tested", True, None),
            EarlierStep("off", "Off", False, {"x": 1}),
        ],
    )

    groups = picker.groups(available)

    trigger = [e.expression for e in groups[0].entries]
    assert trigger == [
        "{{ trigger.customer }}",
        "{{ trigger.customer.email }}",
        '{{ trigger["first name"] }}',
        "{{ trigger.items }}",
        "{{ trigger.items[0] }}",
        "{{ trigger.items[0].sku }}",
    ]
    assert [e.expression for e in groups[1].entries] == [
        "{{ steps.shape }}",
        "{{ steps.shape.total }}",
    ]
    assert groups[1].entries[1].preview == "42"
    assert groups[2].entries == [] and "not tested" in groups[2].note
    assert groups[3].entries == [] and "disabled" in groups[3].note
