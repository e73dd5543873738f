"""Forms generated from a handler's Pydantic config model, and the parsing of what they post.

One widget per field: text, long text, number (text input, so that a template fits), checkbox,
select (Literal or Enum), JSON textarea (dict, list, nested models, Any, unions), password for
secret fields (the mask when a value is stored; posting the mask back keeps it), a select of the
user's connections for connection fields. Labels come
from field names, help text from Field descriptions, required marks from the model.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args, get_origin

from annotated_types import MaxLen
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from app.engine.redaction import REDACTED
from app.engine.templating import has_template

Widget = Literal["text", "textarea", "number", "checkbox", "select", "json", "secret", "connection"]
LONG_TEXT_NAMES = frozenset({"message", "text", "body", "description", "template"})
LONG_TEXT_LENGTH = 10_000
WORDS = {"url": "URL", "api": "API", "id": "ID", "ts": "TS", "json": "JSON", "http": "HTTP"}


@dataclass(frozen=True)
class FormField:
    """One generated input. `name` is the config field; inputs are named `<prefix><name>`."""

    name: str
    label: str
    widget: Widget
    required: bool
    help: str = ""
    choices: tuple[tuple[str, Any], ...] = ()  # (shown and posted text, the value it means)
    integer: bool = False
    loose: bool = False  # JSON of an `Any` field: text that is not JSON is kept as text
    placeholder: str = ""
    default: Any = None

    @property
    def pickable(self) -> bool:
        """Whether the data picker can insert a template here."""
        return self.widget in ("text", "textarea", "json", "number")


@dataclass
class Parsed:
    """A posted form turned back into a config, and what could not be read, by input name."""

    config: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _label(name: str, info: FieldInfo) -> str:
    if info.title:
        return info.title
    words = [WORDS.get(word, word) for word in name.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The annotation without `None`, and whether None was allowed."""
    if get_origin(annotation) in (typing.Union, types.UnionType):
        args = get_args(annotation)
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0], len(rest) < len(args)
    return annotation, False


def _example(annotation: Any) -> Any:
    annotation, _ = _unwrap(annotation)
    origin = get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {
            name: (info.get_default(call_default_factory=True) if not info.is_required() else "")
            for name, info in annotation.model_fields.items()
        }
    if origin is list:
        args = get_args(annotation)
        item = _example(args[0]) if args else None
        return [item] if item is not None else []
    if origin is dict or annotation is dict:
        return {"field": "{{ trigger.value }}"}
    return None


def _widget(name: str, info: FieldInfo) -> FormField:
    annotation, _ = _unwrap(info.annotation)
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    required = info.is_required()
    default = None if required else info.get_default(call_default_factory=True)
    common: dict[str, Any] = {
        "name": name,
        "label": _label(name, info),
        "required": required,
        "help": info.description or "",
        "default": default,
    }
    if extra.get("secret"):
        return FormField(widget="secret", **common)
    if extra.get("format") == "connection":  # one of the user's connections, offered by id
        return FormField(widget="connection", integer=True, **common)
    if extra.get("format") == "json" or annotation is Any:
        example = _example(annotation)
        placeholder = json.dumps(example) if example not in (None, [], {}) else ""
        return FormField(widget="json", loose=annotation is Any, placeholder=placeholder, **common)
    if annotation is bool:
        return FormField(widget="checkbox", **common)
    if annotation in (int, float):
        return FormField(widget="number", integer=annotation is int, **common)
    if annotation is str:
        long = name in LONG_TEXT_NAMES or any(
            isinstance(m, MaxLen) and m.max_length >= LONG_TEXT_LENGTH for m in info.metadata
        )
        return FormField(widget="textarea" if long else "text", **common)
    if get_origin(annotation) is Literal:
        choices = tuple((str(v), v) for v in get_args(annotation))
        return FormField(widget="select", choices=choices, **common)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        choices = tuple((str(member.value), member.value) for member in annotation)
        return FormField(widget="select", choices=choices, **common)
    example = _example(annotation)
    placeholder = json.dumps(example) if example not in (None, [], {}) else ""
    return FormField(widget="json", placeholder=placeholder, **common)


def form_fields(model: type[BaseModel]) -> list[FormField]:
    """The inputs of a config model, in the model's field order."""
    return [_widget(name, info) for name, info in model.model_fields.items()]


def _shown(form_field: FormField, value: Any) -> Any:
    if form_field.widget == "checkbox":
        return bool(value)
    if form_field.widget == "secret":
        return REDACTED if value else ""
    if value is None:
        return ""
    if form_field.widget == "json":
        if value in ({}, []) and not form_field.required:
            return ""
        if form_field.loose and isinstance(value, str):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def shown_values(
    fields: list[FormField], config: Mapping[str, Any], prefix: str = "config."
) -> dict[str, Any]:
    """What each input shows for a stored config (defaults where nothing is stored)."""
    return {
        prefix + f.name: _shown(f, config[f.name] if f.name in config else f.default)
        for f in fields
    }


def posted_values(
    fields: list[FormField], form: Mapping[str, str], prefix: str = "config."
) -> dict[str, Any]:
    """What each input shows again after a refused post: exactly what was typed."""
    return {
        prefix + f.name: (prefix + f.name in form)
        if f.widget == "checkbox"
        else form.get(prefix + f.name, "")
        for f in fields
    }


def _number(form_field: FormField, text: str) -> Any:
    if has_template(text):
        return text  # rendered when the step runs, then checked against the model
    try:
        return int(text) if form_field.integer else float(text)
    except ValueError:
        kind = "a whole number" if form_field.integer else "a number"
        raise ValueError(f"Enter {kind}, or a template such as {{{{ trigger.count }}}}.") from None


def _json(form_field: FormField, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if form_field.loose:
            return text
        raise ValueError(
            f"This is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from None


def parse(fields: list[FormField], form: Mapping[str, str], prefix: str = "config.") -> Parsed:
    """Read a posted form back into a config. An empty optional input is left out (the
    model's default applies); an empty required one too, so the model reports it missing."""
    parsed = Parsed()
    for f in fields:
        name = prefix + f.name
        if f.widget == "checkbox":
            parsed.config[f.name] = name in form
            continue
        text = form.get(name, "")
        if f.widget == "secret":
            if text:
                parsed.config[f.name] = text
            continue
        if text.strip() == "":
            continue
        try:
            if f.widget == "number":
                parsed.config[f.name] = _number(f, text.strip())
            elif f.widget == "connection":
                if not text.strip().isdigit():
                    raise ValueError("Choose one of your connections.")
                parsed.config[f.name] = int(text.strip())
            elif f.widget == "json":
                parsed.config[f.name] = _json(f, text)
            elif f.widget == "select":
                choices = dict(f.choices)
                if text not in choices:
                    raise ValueError("Choose one of the listed options.")
                parsed.config[f.name] = choices[text]
            else:
                parsed.config[f.name] = text
        except ValueError as exc:
            parsed.errors[name] = str(exc)
    return parsed
