"""The widget of each field of a handler's Pydantic config model.

A field's annotation picks its widget, so a plugin's config gets the same editors: text, long
text, number (text input, so that a template fits), checkbox, select (Literal or Enum),
checkboxes (a list of Literal or Enum), key/value rows (`dict[str, ...]` of text or JSON
values), rows of a list (`list[...]` of scalars), the condition builder (a list of models with
`left`, `operator`, `right`, and the sibling `match` all/any; groups of them when the list's
item is a union with a model of `match` and `conditions`, e.g. app.actions.conditions), the
body editor (a field `x` beside a `x_type` choice that includes "none": JSON, text or form
rows, and the type follows what is typed), a JSON textarea for what is left (nested models,
Any, unions), a password for secret fields (the mask when a value is stored; posting the mask
back keeps it), a select of the user's connections for connection fields, and of the
user's credentials of the field's kinds for credential fields (`credential_field`), and of the
user's workflows for workflow fields (`workflow_field`). Labels come from
field names, help text from Field descriptions, required marks from the model. What they show
and what their posts mean is app.web.editor.forms; rows' values, app.web.editor.rows.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args, get_origin

from annotated_types import MaxLen
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from app.actions.conditions import OPERATOR_WORDS
from app.credentials.fields import credential_kinds_of, is_workflow_ref
from app.services.workflows import validation_messages

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
    "credential",
    "workflow",  # one of the user's workflows, by id (`workflow_field`: run_workflow)
    "merged",  # shown and posted inside another field's widget (a body's type, a match)
]
STRUCTURED = frozenset({"checkboxes", "keyvalue", "list", "conditions", "body"})
LONG_TEXT_NAMES = frozenset({"message", "text", "body", "description", "template"})
LONG_TEXT_LENGTH = 10_000
SCALARS = (str, int, float, bool, type(None))
# How the condition builder names the operators the engine knows (app/actions/filter.py);
# an operator not listed here is shown with its name's words.
BODY_TYPE_WORDS = {"none": "No body", "json": "JSON", "text": "Text", "form": "Form fields"}
CONFIG_JSON = "config_json"  # the one input of "Edit as JSON"
# Choices of other fields in words, by field name (a paths step's mode).
CHOICE_WORDS = {
    "mode": {
        "first": "The first branch whose condition holds",
        "all": "Every branch whose condition holds, in order",
        "for": "For a while",
        "until": "Until a date and time",
    },
    # A step that waits (approval, wait for a call)
    "on_timeout": {"fail": "Fail the run", "continue": "Continue the run"},
    "on_reject": {
        "fail": "End the run as failed",
        "continue": "Continue the run, with the decision as the output",
    },
    "timeout_decision": {"approved": "Approved", "rejected": "Rejected"},
}


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
    groups: bool = False  # the condition builder's list may hold groups (each all/any)
    # Shown only while another field has another value than "none" (`auth_*` beside
    # `auth_type`), or, with `needs_value`, only while it has that value (a field declaring
    # `json_schema_extra={"shown_when": {"mode": "until"}}`): progressive disclosure, done by
    # the page's script (visible without it).
    needs: str = ""
    needs_value: str = ""
    credential_kinds: tuple[str, ...] = ()  # a credential field: the kinds it takes

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
        return CHOICE_WORDS.get(self.name, {}).get(text, text.replace("_", " "))


def _label(name: str, info: FieldInfo) -> str:
    if info.title:
        return info.title
    return validation_messages.label(name)


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


def _is_condition(item: Any) -> bool:
    """A model with `left`, `operator` (a choice) and `right`: one condition."""
    if not (isinstance(item, type) and issubclass(item, BaseModel)):
        return False
    fields = item.model_fields
    return {"left", "operator", "right"} <= set(fields) and bool(
        _choices(fields["operator"].annotation)
    )


def _is_group(item: Any, condition: type[BaseModel]) -> bool:
    """A model with `match` (all/any) and `conditions`, a list of `condition`: a group."""
    if not (isinstance(item, type) and issubclass(item, BaseModel)):
        return False
    fields = item.model_fields
    if not {"match", "conditions"} <= set(fields):
        return False
    inner = get_args(fields["conditions"].annotation)
    return (
        get_origin(fields["conditions"].annotation) is list
        and bool(inner)
        and inner[0] is condition
        and {"all", "any"} <= set(dict(_choices(fields["match"].annotation)))
    )


def _condition_models(annotation: Any) -> tuple[type[BaseModel], type[BaseModel] | None] | None:
    """The models of a list of conditions: the condition's, and the group's when the list may
    also hold groups (`list[Condition | ConditionGroup]`, possibly Annotated); None when the
    annotation is not a list of conditions."""
    if get_origin(annotation) is not list or not get_args(annotation):
        return None
    item = get_args(annotation)[0]
    if get_origin(item) is Annotated:
        item = get_args(item)[0]
    members = get_args(item) if get_origin(item) in (typing.Union, types.UnionType) else (item,)
    conditions = [m for m in members if _is_condition(m)]
    if len(conditions) != 1:
        return None
    groups = [m for m in members if _is_group(m, conditions[0])]
    if len(members) != 1 + len(groups) or len(groups) > 1:
        return None  # something else than conditions and one kind of group
    return conditions[0], (groups[0] if groups else None)


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
    models = _condition_models(annotation)
    if models is not None:
        item, group = models
        operators = _choices(item.model_fields["operator"].annotation)
        match = model.model_fields.get("match")
        has_match = match is not None and {"all", "any"} <= set(dict(_choices(match.annotation)))
        return FormField(
            widget="conditions",
            choices=operators,
            partner="match" if has_match else "",
            groups=group is not None,
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
    if is_workflow_ref(extra):  # one of the user's workflows, by id
        return FormField(widget="workflow", integer=True, **common)
    kinds = credential_kinds_of(extra)
    if kinds:  # one of the user's credentials of those kinds, by id
        return FormField(widget="credential", integer=True, credential_kinds=kinds, **common)
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


def _needs(name: str, model: type[BaseModel]) -> str:
    """The choice field (with a "none" option) that `prefix_name` belongs to: `auth_type`
    for `auth_token`; "" when there is none."""
    prefix = name.split("_", 1)[0]
    owner = f"{prefix}_type"
    if name == owner or owner not in model.model_fields:
        return ""
    choices = dict(_choices(_unwrap(model.model_fields[owner].annotation)[0]))
    return owner if "none" in choices else ""


def _shown_when(info: FieldInfo) -> tuple[str, str] | None:
    """(field, value) of a field declared `shown_when={"<field>": "<value>"}`."""
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    shown_when = extra.get("shown_when")
    if isinstance(shown_when, dict) and len(shown_when) == 1:
        ((owner, value),) = shown_when.items()
        return str(owner), str(value)
    return None


def form_fields(model: type[BaseModel]) -> list[FormField]:
    """The inputs of a config model, in the model's field order."""
    merged = _merged_into(model)
    fields = []
    for name, info in model.model_fields.items():
        widget = _widget(name, info, model)
        if _needs(name, model) and widget.widget != "body":
            widget = dataclasses.replace(widget, needs=_needs(name, model))
        shown_when = _shown_when(info)
        if shown_when is not None:
            widget = dataclasses.replace(widget, needs=shown_when[0], needs_value=shown_when[1])
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


def for_step(fields: list[FormField], key: str) -> list[FormField]:
    """`fields` as a step's panel shows them: help that names `steps.<key>` (an action's
    description, written for any step) names this step's key, ready to copy."""
    return [
        dataclasses.replace(f, help=f.help.replace("steps.<key>.", f"steps.{key}."))
        if "steps.<key>." in f.help
        else f
        for f in fields
    ]
