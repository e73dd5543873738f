"""Forms generated from a handler's Pydantic config model, and the parsing of what they post.

A field's annotation picks its widget, so a plugin's config gets the same editors:
text, long text, number (text input, so that a template fits), checkbox, select (Literal or
Enum), checkboxes (a list of Literal or Enum), key/value rows (`dict[str, ...]` of text or JSON
values), rows of a list (`list[...]` of scalars), the condition builder (a list of models with
`left`, `operator`, `right`, and the sibling `match` all/any), the body editor (a field `x`
beside a `x_type` choice that includes "none": JSON, text or form rows, and the type follows
what is typed), a JSON textarea for what is left (nested models, Any, unions), a password for
secret fields (the mask when a value is stored; posting the mask back keeps it), and a select
of the user's connections for connection fields. Labels come from field names, help text from
Field descriptions, required marks from the model. The rows' values are in app.web.editor.rows.
"""

from __future__ import annotations

import enum
import json
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args, get_origin

from annotated_types import MaxLen
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from app.engine.runner import REDACTED
from app.engine.templating import has_template
from app.web.editor import rows

Widget = Literal[
    "text",
    "textarea",
    "number",
    "checkbox",
    "select",
    "checkboxes",
    "keyvalue",
    "list",
    "conditions",
    "body",
    "json",
    "secret",
    "connection",
    "merged",  # shown and posted inside another field's widget (a body's type, a match)
]
STRUCTURED = frozenset({"checkboxes", "keyvalue", "list", "conditions", "body"})
LONG_TEXT_NAMES = frozenset({"message", "text", "body", "description", "template"})
LONG_TEXT_LENGTH = 10_000
WORDS = {"url": "URL", "api": "API", "id": "ID", "ts": "TS", "json": "JSON", "http": "HTTP"}
SCALARS = (str, int, float, bool, type(None))
# How the condition builder names the operators the engine knows (app/actions/filter.py);
# an operator not listed here is shown with its name's words.
OPERATOR_WORDS = {
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
BODY_TYPE_WORDS = {"none": "No body", "json": "JSON", "text": "Text", "form": "Form fields"}
CONFIG_JSON = "config_json"  # the one input of "Edit as JSON"


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
    loose: bool = False  # values of any JSON type: text that is not JSON is kept as text
    placeholder: str = ""
    default: Any = None
    partner: str = ""  # the field shown inside this one (body → body_type, conditions → match)
    unary: frozenset[str] = frozenset()  # the condition builder's operators without a right side

    @property
    def pickable(self) -> bool:
        """Whether the data picker can insert a template here."""
        return self.widget in ("text", "textarea", "json", "number")

    @property
    def structured(self) -> bool:
        return self.widget in STRUCTURED

    def words(self, text: str) -> str:
        """How a choice reads: operators and body types in words, others by their name."""
        if self.widget == "conditions":
            return OPERATOR_WORDS.get(text, text.replace("_", " "))
        if self.widget == "body":
            return BODY_TYPE_WORDS.get(text, text.replace("_", " ").capitalize())
        return text.replace("_", " ")


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


def _choices(annotation: Any) -> tuple[tuple[str, Any], ...]:
    """The values of a Literal or an Enum, as (posted text, value); () for anything else."""
    if get_origin(annotation) is Literal:
        return tuple((str(v), v) for v in get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return tuple((str(member.value), member.value) for member in annotation)
    return ()


def _is_scalar(annotation: Any) -> bool:
    """str, int, float, bool, None, a Literal of those, or a union of them."""
    if annotation in SCALARS or _choices(annotation):
        return True
    if get_origin(annotation) in (typing.Union, types.UnionType):
        return all(_is_scalar(a) for a in get_args(annotation))
    return False


def _is_value(annotation: Any) -> bool:
    """What a key/value row can hold: a scalar, a list of scalars, or anything (Any)."""
    if annotation is Any or _is_scalar(annotation):
        return True
    if get_origin(annotation) in (typing.Union, types.UnionType):
        return all(_is_value(a) for a in get_args(annotation))
    if get_origin(annotation) is list:
        args = get_args(annotation)
        return bool(args) and _is_scalar(args[0])
    return False


def _condition_model(annotation: Any) -> type[BaseModel] | None:
    """The item model of a list of conditions (fields left, operator as a choice, right)."""
    if get_origin(annotation) is not list or not get_args(annotation):
        return None
    item = get_args(annotation)[0]
    if not (isinstance(item, type) and issubclass(item, BaseModel)):
        return None
    fields = item.model_fields
    if {"left", "operator", "right"} <= set(fields) and _choices(fields["operator"].annotation):
        return item
    return None


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


def _structured(
    name: str, info: FieldInfo, annotation: Any, model: type[BaseModel], common: dict[str, Any]
) -> FormField | None:
    """A structured editor for the field, when its annotation has one."""
    origin, args = get_origin(annotation), get_args(annotation)
    partner = model.model_fields.get(f"{name}_type")
    if partner is not None and "none" in dict(_choices(partner.annotation)):
        choices = _choices(partner.annotation)
        return FormField(widget="body", choices=choices, partner=f"{name}_type", **common)
    item = _condition_model(annotation)
    if item is not None:
        operators = _choices(item.model_fields["operator"].annotation)
        match = model.model_fields.get("match")
        has_match = match is not None and {"all", "any"} <= set(dict(_choices(match.annotation)))
        return FormField(
            widget="conditions",
            choices=operators,
            partner="match" if has_match else "",
            unary=frozenset(text for text, _ in operators if text.startswith("is_")),
            **common,
        )
    if origin is list and args and _choices(args[0]):
        return FormField(widget="checkboxes", choices=_choices(args[0]), **common)
    if origin is list and args and _is_scalar(args[0]):
        return FormField(widget="list", integer=args[0] is int, **common)
    if origin is dict and len(args) == 2 and args[0] is str and _is_value(args[1]):
        return FormField(widget="keyvalue", loose=args[1] is not str, **common)
    return None


def _merged_into(model: type[BaseModel]) -> set[str]:
    """Fields shown inside another field's widget (a body's type; the conditions' match)."""
    merged = set()
    for name, info in model.model_fields.items():
        annotation, _ = _unwrap(info.annotation)
        widget = _structured(name, info, annotation, model, _common(name, info))
        if widget is not None and widget.partner:
            merged.add(widget.partner)
    return merged


def _common(name: str, info: FieldInfo) -> dict[str, Any]:
    required = info.is_required()
    return {
        "name": name,
        "label": _label(name, info),
        "required": required,
        "help": info.description or "",
        "default": None if required else info.get_default(call_default_factory=True),
    }


def _widget(name: str, info: FieldInfo, model: type[BaseModel]) -> FormField:
    annotation, _ = _unwrap(info.annotation)
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    common = _common(name, info)
    if extra.get("secret"):
        return FormField(widget="secret", **common)
    if extra.get("format") == "connection":  # one of the user's connections, offered by id
        return FormField(widget="connection", integer=True, **common)
    structured = _structured(name, info, annotation, model, common)
    if structured is not None:
        return structured
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
    if _choices(annotation):
        return FormField(widget="select", choices=_choices(annotation), **common)
    example = _example(annotation)
    placeholder = json.dumps(example) if example not in (None, [], {}) else ""
    return FormField(widget="json", placeholder=placeholder, **common)


def form_fields(model: type[BaseModel]) -> list[FormField]:
    """The inputs of a config model, in the model's field order."""
    merged = _merged_into(model)
    fields = []
    for name, info in model.model_fields.items():
        widget = _widget(name, info, model)
        if name in merged:
            widget = FormField(
                name=widget.name,
                label=widget.label,
                widget="merged",
                required=widget.required,
                help=widget.help,
                choices=_choices(_unwrap(info.annotation)[0]),
                default=widget.default,
            )
        fields.append(widget)
    return fields


def _shown(form_field: FormField, value: Any, config: Mapping[str, Any]) -> Any:
    widget = form_field.widget
    if widget == "checkbox":
        return bool(value)
    if widget == "secret":
        return REDACTED if value else ""
    if widget == "checkboxes":
        return [str(v) for v in value] if isinstance(value, list) else []
    if widget == "keyvalue":
        return rows.show_pairs(value, form_field.loose)
    if widget == "list":
        return rows.show_items(value, form_field.integer)
    if widget == "conditions":
        return rows.show_conditions(value)
    if widget == "body":
        return _shown_body(form_field, value, config)
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if widget == "json":
        if value in ({}, []) and not form_field.required:
            return ""
        if isinstance(value, str) and (form_field.loose or not rows.is_json(value)):
            return value  # text (or what was typed where JSON was expected, kept as typed)
        return json.dumps(value, indent=2, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _shown_body(form_field: FormField, value: Any, config: Mapping[str, Any]) -> dict[str, Any]:
    kind = str(config.get(form_field.partner) or "none")
    shown: dict[str, Any] = {"type": kind, "text": "", "rows": []}
    if kind == "form" and isinstance(value, Mapping):
        shown["rows"] = rows.show_pairs(value, loose=True)
    elif isinstance(value, str) and kind != "json":
        shown["text"] = value
    elif value is not None:
        shown["text"] = json.dumps(value, indent=2, ensure_ascii=False)
    return shown


def _value_of(form_field: FormField, config: Mapping[str, Any]) -> Any:
    if form_field.name in config:
        return config[form_field.name]
    return form_field.default


def shown_values(
    fields: list[FormField], config: Mapping[str, Any], prefix: str = "config."
) -> dict[str, Any]:
    """What each input shows for a stored config (defaults where nothing is stored)."""
    effective = {f.name: _value_of(f, config) for f in fields}
    return {prefix + f.name: _shown(f, effective[f.name], effective) for f in fields}


def _posted(form_field: FormField, form: Mapping[str, str], name: str) -> Any:
    widget = form_field.widget
    if widget == "checkbox":
        return name in form
    if widget == "checkboxes":
        return rows.posted_list(form, name)
    if widget == "keyvalue":
        return rows.posted_rows(form, name, ("key", "value"))
    if widget == "list":
        return rows.posted_rows(form, name, ("value",))
    if widget == "conditions":
        return rows.posted_rows(form, name, rows.CONDITION_PARTS)
    if widget == "body":
        return {
            "type": form.get(f"config.{form_field.partner}", "none"),
            "text": form.get(name, ""),
            "rows": rows.posted_rows(form, name, ("key", "value")),
        }
    return form.get(name, "")


def posted_values(
    fields: list[FormField], form: Mapping[str, str], prefix: str = "config."
) -> dict[str, Any]:
    """What each input shows again after a refused post: exactly what was typed."""
    return {prefix + f.name: _posted(f, form, prefix + f.name) for f in fields}


def _number(form_field: FormField, text: str) -> Any:
    if has_template(text):
        return text  # rendered when the step runs, then checked against the model
    try:
        if form_field.integer or re.fullmatch(r"-?\d+", text):
            return int(text)  # 10 stays 10 (the model reads it as a float where it must)
        return float(text)
    except ValueError:
        kind = "a whole number" if form_field.integer else "a number"
        raise ValueError(f"Enter {kind}, or a template such as {{{{ trigger.count }}}}.") from None


def _json(form_field: FormField, text: str) -> Any:
    try:
        return rows.read_json(text)
    except ValueError as exc:
        if form_field.loose:
            return text
        raise ValueError(_json_message(exc)) from None


def _json_message(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"This is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
    return "This is not valid JSON."


def _body(form_field: FormField, form: Mapping[str, str], name: str, parsed: Parsed) -> None:
    """The body editor: its type, and the body read the way the type says. A body typed while
    the type is "none" chooses the type itself: JSON when it reads as JSON, else text."""
    partner = form_field.partner
    kinds = dict(form_field.choices)
    kind = form.get(f"config.{partner}", "none")
    if kind not in kinds:
        parsed.errors[name] = "Choose one of the listed body types."
        return
    text = form.get(name, "")
    pairs, problem = rows.read_pairs(rows.posted_rows(form, name, ("key", "value")), loose=True)
    if kind == "none" and pairs and "form" in kinds:
        kind = "form"
    elif kind == "none" and text.strip():
        kind = "json" if "json" in kinds and _reads_as_structure(text) else "text"
    if kind in kinds:
        parsed.config[partner] = kinds[kind]
    if kind == "form":
        if problem:
            parsed.errors[name] = problem
        elif pairs or not text.strip():
            parsed.config[form_field.name] = pairs
        else:
            parsed.config[form_field.name] = _json(form_field, text)
    elif kind == "json" and text.strip():
        try:
            parsed.config[form_field.name] = rows.read_json(text)
        except ValueError as exc:
            parsed.errors[name] = (
                _json_message(exc).removesuffix(".") + "; or choose Text as the body type."
            )
    elif kind != "none" and text != "":
        parsed.config[form_field.name] = text


def _reads_as_structure(text: str) -> bool:
    try:
        return isinstance(rows.read_json(text), dict | list)
    except ValueError:
        return False


def _structured_value(form_field: FormField, form: Mapping[str, str], name: str) -> Any:
    """Read a structured widget; ValueError with the message for the field."""
    widget = form_field.widget
    problem = ""
    value: Any = None
    posted = form.get(name, "")
    if posted.lstrip().startswith(("[", "{")) and not rows.indexes(form, name):
        return _json(form_field, posted)  # the whole value as JSON (scripts, older pages)
    if widget == "checkboxes":
        choices = dict(form_field.choices)
        picked = set(rows.posted_list(form, name))
        if picked - set(choices):
            raise ValueError("Choose among the listed options.")
        value = [v for text, v in form_field.choices if text in picked]
    elif widget == "keyvalue":
        value, problem = rows.read_pairs(
            rows.posted_rows(form, name, ("key", "value")), form_field.loose
        )
    elif widget == "list":
        value, problem = rows.read_items(
            rows.posted_rows(form, name, ("value",)), form_field.integer
        )
    elif widget == "conditions":
        operators = tuple(text for text, _ in form_field.choices)
        value, problem = rows.read_conditions(
            rows.posted_rows(form, name, rows.CONDITION_PARTS), operators, form_field.unary
        )
    if problem:
        raise ValueError(problem)
    return value


def parse(fields: list[FormField], form: Mapping[str, str], prefix: str = "config.") -> Parsed:
    """Read a posted form back into a config. An empty optional input is left out (the
    model's default applies); an empty required one too, so the model reports it missing.
    "Edit as JSON" posts the whole config as one object instead."""
    if CONFIG_JSON in form:
        return _parse_json(form[CONFIG_JSON])
    parsed = Parsed()
    for f in fields:
        name = prefix + f.name
        if f.widget == "merged":
            if f.name not in parsed.config:  # the partner widget may have chosen it already
                _simple(f, form, name, parsed)
            continue
        if f.widget == "body":
            _body(f, form, name, parsed)
            continue
        if f.structured:
            try:
                value = _structured_value(f, form, name)
            except ValueError as exc:
                parsed.errors[name] = str(exc)
                continue
            # None checked on the page (its marker is posted): the model says "at least one".
            if value or f.required or f"{name}-shown" in form:
                parsed.config[f.name] = value
            continue
        _simple(f, form, name, parsed)
    return parsed


def _simple(f: FormField, form: Mapping[str, str], name: str, parsed: Parsed) -> None:
    if f.widget == "checkbox":
        parsed.config[f.name] = name in form
        return
    text = form.get(name, "")
    if f.widget == "secret":
        if text:
            parsed.config[f.name] = text
        return
    if text.strip() == "":
        return
    try:
        if f.widget == "number":
            parsed.config[f.name] = _number(f, text.strip())
        elif f.widget == "connection":
            if not text.strip().isdigit():
                raise ValueError("Choose one of your connections.")
            parsed.config[f.name] = int(text.strip())
        elif f.widget == "json":
            parsed.config[f.name] = _json(f, text)
        elif f.widget in ("select", "merged"):
            choices = dict(f.choices)
            if text not in choices:
                raise ValueError("Choose one of the listed options.")
            parsed.config[f.name] = choices[text]
        else:
            parsed.config[f.name] = text
    except ValueError as exc:
        parsed.errors[name] = str(exc)


def _parse_json(text: str) -> Parsed:
    parsed = Parsed()
    if not text.strip():
        return parsed
    try:
        value = rows.read_json(text)
    except ValueError as exc:
        parsed.errors[CONFIG_JSON] = _json_message(exc)
        return parsed
    if not isinstance(value, dict):
        parsed.errors[CONFIG_JSON] = 'The settings are a JSON object, e.g. {"url": "https://…"}.'
        return parsed
    parsed.config = value
    return parsed


def config_json(config: Mapping[str, Any], fields: list[FormField]) -> str:
    """The config as "Edit as JSON" shows it: stored secrets masked (posting the mask back
    keeps them)."""
    secret = {f.name for f in fields if f.widget == "secret"}
    shown = {k: (REDACTED if k in secret and v else v) for k, v in config.items()}
    return json.dumps(shown, indent=2, ensure_ascii=False)


def raw(
    fields: list[FormField], form: Mapping[str, str], prefix: str = "config."
) -> dict[str, Any] | None:
    """The config as typed, even where it cannot be read (the text is kept in its place), for
    a draft that must never lose an edit; None when "Edit as JSON" holds no JSON object yet."""
    parsed = parse(fields, form, prefix)
    if CONFIG_JSON in form:
        return None if parsed.errors else parsed.config
    config = dict(parsed.config)
    for f in fields:
        name = prefix + f.name
        if name not in parsed.errors:
            continue
        if f.widget in ("keyvalue", "list", "conditions", "checkboxes") and form.get(name):
            config[f.name] = form[name]  # the whole value as JSON, not readable yet
        elif f.widget == "keyvalue":
            config[f.name] = rows.read_pairs(
                rows.posted_rows(form, name, ("key", "value")), f.loose, keep_raw=True
            )[0]
        elif f.widget == "list":
            config[f.name] = rows.read_items(
                rows.posted_rows(form, name, ("value",)), f.integer, keep_raw=True
            )[0]
        elif f.widget in ("body", "json", "number", "select", "connection"):
            config[f.name] = form.get(name, "")
    return config
