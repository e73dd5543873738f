"""The editor's side panel: what it shows for a step, the trigger, the workflow's settings,
the palette of step kinds, or nothing selected; and where a refused field's message goes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.orm import Session

from app.engine import registry
from app.engine.retry import RetrySettings
from app.engine.runner import Trial
from app.services import trials
from app.services.connections import list_connections
from app.services.errors import InvalidInputError
from app.web.editor import forms, picker
from app.web.editor.view import Editor, StepCard, icon_for

Kind = Literal["intro", "step", "trigger", "settings", "add"]
STEP_INPUTS = (
    "name",
    "key",
    "retry.attempts",
    "retry.backoff.type",
    "retry.backoff.delay",
    "continue_on_error",
)
TRIGGER_INPUTS = ("type", "sample_data")
SETTINGS_INPUTS = ("name", "description", "run_key_template")


@dataclass(frozen=True)
class Choice:
    """A step or trigger kind offered in a palette or a select."""

    type: str
    name: str
    description: str
    icon: str
    sends: bool = False


@dataclass
class Panel:
    kind: Kind
    editor: Editor
    fields: list[forms.FormField] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # by input name
    errors: dict[str, str] = field(default_factory=dict)  # by input name
    paths: dict[str, str] = field(default_factory=dict)  # input name → the field's dotted path
    form_error: str = ""
    status: str = ""
    step: StepCard | None = None
    description: str = ""
    sends: bool = False
    kinds: list[Choice] = field(default_factory=list)
    picker: list[picker.Group] = field(default_factory=list)
    trial: Trial | None = None
    at: int = 0
    connections: list[tuple[str, str]] = field(default_factory=list)  # (id, label) to choose

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.form_error)


def action_kinds() -> list[Choice]:
    return [
        Choice(h.type, h.name, h.description, icon_for(h.type), h.sends) for h in registry.actions()
    ]


def trigger_kinds() -> list[Choice]:
    return [Choice(h.type, h.name, h.description, icon_for(h.type)) for h in registry.triggers()]


def place_errors(
    panel: Panel, problems: list[InvalidInputError], prefix: str, known: tuple[str, ...]
) -> Panel:
    """Put each refused field's message beside its input (`prefix` is the part of the dotted
    path the panel does not show, e.g. `steps.2.`); what has no input goes on top."""
    for problem in problems:
        path = problem.field or ""
        local = path.removeprefix(prefix) if path.startswith(prefix) else path
        if local.startswith("config."):
            head, _, rest = local.removeprefix("config.").partition(".")
            name, message = f"config.{head}", problem.message
            if rest:
                message = f"{' → '.join(_step_word(p) for p in rest.split('.'))}: {message}"
        else:
            name = next((k for k in known if local == k or local.startswith(k + ".")), "")
            message = problem.message
        if name and (name in known or any(f"config.{f.name}" == name for f in panel.fields)):
            panel.errors.setdefault(name, message)
            panel.paths.setdefault(name, path)
        else:
            panel.form_error = panel.form_error or (f"{local}: {message}" if local else message)
    return panel


def _with_connections(session: Session, panel: Panel) -> Panel:
    """Offer the owner's connections when a field of the form names one."""
    if any(f.widget == "connection" for f in panel.fields):
        panel.connections = [
            (str(c.id), f"{c.account_email} ({c.provider}, {c.status.replace('_', ' ')})")
            for c in list_connections(session, panel.editor.workflow.user_id)
        ]
    return panel


def _step_word(part: str) -> str:
    return f"item {int(part) + 1}" if part.isdigit() else part


def _retry_values(retry: Mapping[str, Any] | None) -> dict[str, Any]:
    settings = RetrySettings.model_validate(dict(retry or {}))
    return {
        "retry.attempts": str(settings.attempts),
        "retry.backoff.type": settings.backoff.type,
        "retry.backoff.delay": f"{settings.backoff.delay:g}",
    }


def step_panel(
    session: Session,
    editor: Editor,
    key: str,
    *,
    posted: Mapping[str, str] | None = None,
    trial: Trial | None = None,
    status: str = "",
) -> Panel:
    """The config panel of one step: name, key, generated config form, retries, picker."""
    index = editor.draft.index(key)
    card = editor.steps[index]
    step = editor.draft.steps[index]
    panel = Panel("step", editor, step=card, trial=trial, status=status, sends=card.sends)
    if card.known:
        handler = registry.actions().get(card.type)
        panel.description = handler.description
        panel.fields = forms.form_fields(handler.Config)
    if posted is not None:
        panel.values = {name: posted.get(name, "") for name in STEP_INPUTS}
        panel.values["continue_on_error"] = "continue_on_error" in posted
        panel.values.update(forms.posted_values(panel.fields, posted))
    else:
        panel.values = {
            "name": card.name,
            "key": card.key,
            "continue_on_error": bool(step.get("continue_on_error")),
        }
        panel.values.update(_retry_values(step.get("retry")))
        panel.values.update(forms.shown_values(panel.fields, step.get("config") or {}))
    reads = trials.available(session, editor.workflow, editor.draft, index)
    panel.picker = picker.groups(reads)
    return _with_connections(session, panel)


def trigger_panel(
    session: Session,
    editor: Editor,
    *,
    type_: str | None = None,
    posted: Mapping[str, str] | None = None,
    status: str = "",
) -> Panel:
    """The trigger's panel: its kind, its config form, and its sample data."""
    current = editor.draft.trigger
    chosen = type_ or str(current.get("type") or "manual")
    panel = Panel("trigger", editor, kinds=trigger_kinds(), status=status)
    if chosen in registry.triggers():
        handler = registry.triggers().get(chosen)
        panel.description = handler.description
        panel.fields = forms.form_fields(handler.Config)
    if posted is not None:
        panel.values = {"type": chosen, "sample_data": posted.get("sample_data", "")}
        panel.values.update(forms.posted_values(panel.fields, posted))
        return _with_connections(session, panel)
    config = current.get("config") or {} if chosen == current.get("type") else {}
    sample = current.get("sample_data")
    panel.values = {
        "type": chosen,
        "sample_data": json.dumps(sample, indent=2, ensure_ascii=False) if sample else "",
    }
    panel.values.update(forms.shown_values(panel.fields, config))
    return _with_connections(session, panel)


def settings_panel(
    editor: Editor, *, posted: Mapping[str, str] | None = None, status: str = ""
) -> Panel:
    """The workflow's own settings: name, description, run key template."""
    panel = Panel("settings", editor, status=status)
    spec = editor.draft.spec
    source: Mapping[str, Any] = (
        posted
        if posted is not None
        else {
            "name": spec.get("name", ""),
            "description": spec.get("description", ""),
            "run_key_template": spec.get("run_key_template") or "",
        }
    )
    panel.values = {name: source.get(name, "") for name in SETTINGS_INPUTS}
    return panel


def palette(editor: Editor, at: int) -> Panel:
    """The kinds of step that can be added at position `at`."""
    at = max(0, min(at, len(editor.steps)))
    return Panel("add", editor, kinds=action_kinds(), at=at)


def intro(editor: Editor) -> Panel:
    return Panel("intro", editor)
