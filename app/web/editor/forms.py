"""What the panels' generated forms show for a stored config, and the config a post means.

The widgets come from the config model (app.web.editor.widgets): plain inputs post one value;
structured ones post rows as indexed fields (app.web.editor.rows); "Edit as JSON" posts the
whole config as one object. `raw` keeps what cannot be read yet, as typed, for the draft.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.engine.redaction import REDACTED
from app.engine.templating import has_template
from app.web.editor import rows
from app.web.editor.widgets import CONFIG_JSON as CONFIG_JSON
from app.web.editor.widgets import FormField as FormField
from app.web.editor.widgets import for_step as for_step
from app.web.editor.widgets import form_fields as form_fields


@dataclass
class Parsed:
    """A posted form turned back into a config, and what could not be read, by input name."""

    config: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


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
    elif kind == "json" and _flat_object(value):
        shown["rows"] = rows.show_pairs(value, loose=True)  # a JSON object built from fields
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
        return rows.posted_conditions(form, name)
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
        if pairs and name not in parsed.errors:
            parsed.errors[name] = "Fill in the fields or write the JSON, not both."
    elif kind == "json" and (pairs or problem):
        if problem:
            parsed.errors[name] = problem
        else:
            parsed.config[form_field.name] = pairs  # the fields, sent as a JSON object
    elif kind != "none" and text != "":
        parsed.config[form_field.name] = text


def _flat_object(value: Any) -> bool:
    """A non-empty JSON object of plain values: the body editor shows it as fields."""
    return (
        isinstance(value, Mapping)
        and bool(value)
        and all(not isinstance(v, Mapping | list) for v in value.values())
    )


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
            rows.posted_conditions(form, name), operators, form_field.unary, form_field.groups
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
        elif f.widget in ("connection", "credential", "workflow"):
            if not text.strip().isdigit():
                raise ValueError(f"Choose one of your {f.widget}s.")
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


def json_problem(text: str) -> str:
    """What is wrong with "Edit as JSON" text, in words; "" when it is a JSON object."""
    return _parse_json(text).errors.get(CONFIG_JSON, "")


def held_input(form: Mapping[str, str], key: str | None = None) -> dict[str, str]:
    """What a panel's post holds that the definition cannot yet, as typed: a step key other
    than the step's `key` (applied only by Apply), "Edit as JSON" text that is not a JSON
    object yet. The draft keeps it beside the definition (drafts.Draft.inputs)."""
    held: dict[str, str] = {}
    if key is not None and form.get("key", key).strip() != key:
        held["key"] = form.get("key", "")
    if CONFIG_JSON in form and json_problem(form[CONFIG_JSON]):
        held[CONFIG_JSON] = form[CONFIG_JSON]
    return held


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
        elif f.widget in (
            "body",
            "json",
            "number",
            "select",
            "connection",
            "credential",
            "workflow",
        ):
            config[f.name] = form.get(name, "")
    return config
