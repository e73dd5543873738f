"""The editor's side panel: what it shows for a step, the trigger, the workflow's settings,
the palette of step kinds, or nothing selected; and where a refused field's message goes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.orm import Session

from app.engine.categories import category_of
from app.engine.program import MAX_DEPTH
from app.engine.retry import RetrySettings
from app.engine.trial import Trial
from app.extensions import container, db
from app.services.connections.store import list_connections
from app.services.credentials.manage import list_credentials
from app.services.errors import InvalidInputError, NotFoundError
from app.services.workflows import (
    draft_structure,
    draft_tree,
    listing,
    trials,
    validation_messages,
)
from app.services.workflows.draft_tree import TOP, Slot
from app.services.workflows.step_checks import config_problems
from app.web.editor import failure_section, forms, picker, rows, run_if, settings_form
from app.web.editor.cards import StepCard, icon_for
from app.web.editor.support import secrets
from app.web.editor.view import Editor

Kind = Literal["intro", "step", "trigger", "settings", "add", "branch"]
STEP_INPUTS = (
    "name",
    "key",
    "retry.attempts",
    "retry.backoff.type",
    "retry.backoff.delay",
    "retry.timeout_seconds",
    "continue_on_error",
    *run_if.INPUTS,
)
TRIGGER_INPUTS = ("type", "sample_data")
BRANCH_INPUTS = ("name", *(run_if.BRANCH_PREFIX + f.name for f in run_if.FIELDS))
SETTINGS_INPUTS = ("name", "description", "run_key_template", *settings_form.INPUTS)


@dataclass(frozen=True)
class Choice:
    """A step or trigger kind offered in a palette or a select."""

    type: str
    name: str
    description: str
    icon: str
    sends: bool = False
    category: str = ""


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
    credentials: list[tuple[str, str, str]] = field(default_factory=list)  # (id, label, kind)
    workflows: list[tuple[str, str]] = field(default_factory=list)  # (id, label) to call
    run_if_fields: list[forms.FormField] = field(default_factory=lambda: run_if.FIELDS)
    run_if_open: bool = False  # the "Run only if" builder is shown (else loaded on opening)
    json_mode: bool = False  # "Edit as JSON": the config as one JSON object
    held_key: bool = False  # the key shown was typed but not applied yet
    timezones: tuple[str, ...] = ()  # the settings panel's time zone suggestions
    slot: Slot = TOP  # the palette's list (a loop's body, a branch) and its size
    failure: failure_section.FailureSection | None = None  # settings: "When a run fails"
    size: int = 0
    where: str = ""  # that list in words ("in the loop “Each order”")
    branch: str = ""  # the branch panel's branch key
    unavailable: dict[str, str] = field(default_factory=dict)  # palette kinds not here, why

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.form_error)


def action_kinds() -> list[Choice]:
    return [
        Choice(h.type, h.name, h.description, icon_for(h.type), h.sends, category_of(h))
        for h in container().handlers.actions
    ]


def trigger_kinds() -> list[Choice]:
    return [
        Choice(h.type, h.name, h.description, icon_for(h.type), category=category_of(h))
        for h in container().handlers.triggers
    ]


def place_errors(
    panel: Panel, problems: list[InvalidInputError], prefix: str, known: tuple[str, ...]
) -> Panel:
    """Put each refused field's message, in plain words, beside its input (`prefix` is the part
    of the dotted path the panel does not show, e.g. `steps.2.`). A message about the whole
    config goes to the field it names; only what has no input at all goes on top."""
    config_names = [f.name for f in panel.fields]
    for problem in problems:
        path = problem.field or ""
        local = path.removeprefix(prefix) if path.startswith(prefix) else path
        message = validation_messages.plain(problem.message)
        if local == "config":
            located = validation_messages.locate(problem.message, config_names)
            if located:  # the message is about that field: it goes (and points) there
                local, path = f"config.{located}", f"{path}.{located}"
        if local.startswith("config."):
            head, _, rest = local.removeprefix("config.").partition(".")
            name = _shown_in(panel, f"config.{head}")
            if rest:
                widget = next((f.widget for f in panel.fields if f"config.{f.name}" == name), "")
                message = f"{_where(rest, widget)}: {message}"
        else:
            name = next((k for k in known if local == k or local.startswith(k + ".")), "")
            builder = name.startswith((run_if.PREFIX, run_if.BRANCH_PREFIX))
            if builder and local != name:  # a row of the builder
                message = f"{_where(local.removeprefix(name + '.'), 'conditions')}: {message}"
        if local == forms.CONFIG_JSON:
            name = forms.CONFIG_JSON
        if panel.json_mode and name.startswith("config."):
            name, message = forms.CONFIG_JSON, f"{name.removeprefix('config.')}: {message}"
        if name and (name in known or name == forms.CONFIG_JSON or name in _inputs(panel)):
            panel.errors.setdefault(name, message)
            panel.paths.setdefault(name, path)
        else:
            panel.form_error = panel.form_error or message
    return panel


def _inputs(panel: Panel) -> set[str]:
    return {f"config.{f.name}" for f in panel.fields}


def _shown_in(panel: Panel, name: str) -> str:
    """The input a field's message goes beside: a merged field's (a body's type, a match)
    message goes beside the widget that shows it."""
    for f in panel.fields:
        if f.partner and name == f"config.{f.partner}":
            return f"config.{f.name}"
    return name


PART_WORDS = {"left": "value to check", "right": "value to compare with", "operator": "comparison"}


def _where(rest: str, widget: str = "") -> str:
    """`0.left` → "Condition 1, value to check" (in a condition builder), else "Row 1, …"."""
    grouped = rows.condition_place(rest) if widget == "conditions" else None
    if grouped is not None:
        return grouped
    row = "Condition" if widget == "conditions" else "Row"
    words = [
        f"{row} {int(p) + 1}" if p.isdigit() else PART_WORDS.get(p, p.replace("_", " "))
        for p in rest.split(".")
    ]
    return ", ".join(words)


def _with_connections(session: Session, panel: Panel) -> Panel:
    """Offer the owner's connections (credentials, workflows) when a field of the form names
    one."""
    owner = panel.editor.workflow.user_id
    if any(f.widget == "connection" for f in panel.fields):
        panel.connections = [
            (str(c.id), f"{c.account_email} ({c.provider}, {c.status.replace('_', ' ')})")
            for c in list_connections(session, owner)
        ]
    if any(f.widget == "credential" for f in panel.fields):
        panel.credentials = [(str(c.id), c.name, c.kind) for c in list_credentials(session, owner)]
    if any(f.widget == "workflow" for f in panel.fields):
        workflow = panel.editor.workflow
        panel.workflows = listing.callable_workflows(session, owner, workflow.id)
    return panel


def _retry_values(retry: Mapping[str, Any] | None) -> dict[str, Any]:
    settings = RetrySettings.model_validate(dict(retry or {}))
    return {
        "retry.attempts": str(settings.attempts),
        "retry.backoff.type": settings.backoff.type,
        "retry.backoff.delay": f"{settings.backoff.delay:g}",
        "retry.timeout_seconds": str(settings.timeout_seconds or ""),
    }


def step_panel(
    session: Session,
    editor: Editor,
    key: str,
    *,
    posted: Mapping[str, str] | None = None,
    trial: Trial | None = None,
    status: str = "",
    json_mode: bool = False,
    run_if_open: bool = False,
) -> Panel:
    """The config panel of one step: name, key, generated config form (or the config as JSON),
    retries, picker. `posted` shows again exactly what was typed; else what the draft holds
    beyond the definition comes back: a key typed but not applied, and "Edit as JSON" text
    that is not JSON yet (the panel then opens as JSON, with the text's error)."""
    card = editor.card(key)
    step = editor.draft.step(key)
    panel = Panel("step", editor, step=card, trial=trial, status=status, sends=card.sends)
    if card.known:
        handler = container().handlers.actions.get(card.type)
        panel.description = handler.description
        panel.fields = forms.for_step(forms.form_fields(handler.Config), key)
    panel.json_mode = json_mode or (posted is not None and forms.CONFIG_JSON in posted)
    panel.run_if_open = run_if_open or bool(step.get("run_if")) or run_if.in_form(posted)
    if posted is not None:
        panel.values = {name: posted.get(name, "") for name in STEP_INPUTS}
        panel.values["continue_on_error"] = "continue_on_error" in posted
        panel.values.update(forms.posted_values(panel.fields, posted))
        panel.values.update(run_if.shown_posted(posted))
    else:
        panel.values = {
            "name": card.name,
            "key": card.key,
            "continue_on_error": bool(step.get("continue_on_error")),
        }
        panel.values.update(_retry_values(step.get("retry")))
        panel.values.update(forms.shown_values(panel.fields, step.get("config") or {}))
        panel.values.update(run_if.shown(step.get("run_if")))
        _held(panel, editor.draft.held(key))
        if card.known and step.get("config"):  # what the draft kept is checked again
            where = editor.draft.where(key)
            actions = container().handlers.actions
            problems = config_problems(card.type, step["config"], where, secrets(), actions)
            place_errors(panel, problems, f"{where}.", STEP_INPUTS)
    if panel.json_mode:
        text = posted.get(forms.CONFIG_JSON) if posted is not None else None
        shown = forms.config_json(step.get("config") or {}, panel.fields)
        panel.values.setdefault(forms.CONFIG_JSON, text if text is not None else shown)
    reads = trials.available(session, editor.workflow, editor.draft, key)
    panel.picker = picker.groups(reads)
    return _with_connections(session, panel)


def _held(panel: Panel, held: Mapping[str, str]) -> None:
    """Show what the draft holds beyond the definition (see step_panel)."""
    if "key" in held:
        panel.values["key"], panel.held_key = held["key"], True
    if forms.CONFIG_JSON in held:
        text = held[forms.CONFIG_JSON]
        panel.json_mode = True
        panel.values[forms.CONFIG_JSON] = text
        problem = forms.json_problem(text)
        panel.errors[forms.CONFIG_JSON] = f"{problem} Correct it to apply it or edit with the form."


def trigger_panel(
    session: Session,
    editor: Editor,
    *,
    type_: str | None = None,
    posted: Mapping[str, str] | None = None,
    status: str = "",
    json_mode: bool = False,
) -> Panel:
    """The trigger's panel: its kind, its config form (or the config as JSON), its sample data."""
    current = editor.draft.trigger
    chosen = type_ or str(current.get("type") or "manual")
    panel = Panel("trigger", editor, kinds=trigger_kinds(), status=status)
    panel.json_mode = json_mode or (posted is not None and forms.CONFIG_JSON in posted)
    if chosen in container().handlers.triggers:
        handler = container().handlers.triggers.get(chosen)
        panel.description = handler.description
        panel.fields = forms.form_fields(handler.Config)
    config = current.get("config") or {} if chosen == current.get("type") else {}
    if posted is not None:
        panel.values = {"type": chosen, "sample_data": posted.get("sample_data", "")}
        panel.values.update(forms.posted_values(panel.fields, posted))
        panel.values.update(run_if.shown_posted(posted))
    else:
        sample = current.get("sample_data")
        panel.values = {
            "type": chosen,
            "sample_data": json.dumps(sample, indent=2, ensure_ascii=False) if sample else "",
        }
        panel.values.update(forms.shown_values(panel.fields, config))
        if chosen == current.get("type"):
            _held(panel, editor.draft.held())
    if panel.json_mode:
        text = posted.get(forms.CONFIG_JSON) if posted is not None else None
        shown = forms.config_json(config, panel.fields)
        panel.values.setdefault(forms.CONFIG_JSON, text if text is not None else shown)
    return _with_connections(session, panel)


def settings_panel(
    editor: Editor, *, posted: Mapping[str, str] | None = None, status: str = ""
) -> Panel:
    """The workflow's own settings: name, description, run key template; time zone and time
    limits of its runs."""
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
    shown = settings_form.values(spec.get("settings"))
    if posted is not None and settings_form.TIMEZONE in posted:
        shown = settings_form.posted_values(posted)
    panel.values.update(shown)
    panel.timezones = settings_form.timezones()
    panel.failure = failure_section.section(db.session(), editor)
    return panel


def palette(editor: Editor, at: int, slot: Slot | None = None) -> Panel:
    """The kinds of step that can be added at index `at` of the list `slot` names (the top
    level by default; a list that does not exist is the top level)."""
    slot = slot or Slot()
    try:
        size = len(draft_tree.list_at(editor.draft.steps, slot))
        words = draft_tree.slot_words(editor.draft.steps, slot)
    except (InvalidInputError, NotFoundError):
        slot, size, words = Slot(), len(editor.draft.steps), ""
    at = max(0, min(at, size))
    panel = Panel("add", editor, kinds=action_kinds(), at=at, slot=slot, size=size, where=words)
    depth = 0 if slot.parent is None else len(editor.draft.locate(slot.parent).containers) + 1
    for kind in panel.kinds:
        if kind.type in ("loop", "paths") and depth >= MAX_DEPTH:
            panel.unavailable[kind.type] = f"Loops and paths nest at most {MAX_DEPTH} deep."
        elif kind.type == "paths" and at < size:
            panel.unavailable[kind.type] = "A paths step ends its list: add it at the end."
    return panel


def branch_panel(
    session: Session,
    editor: Editor,
    key: str,
    branch: str,
    *,
    posted: Mapping[str, str] | None = None,
    status: str = "",
) -> Panel:
    """A paths step's branch: its name and its condition (the condition builder)."""
    card = editor.card(key)
    paths = editor.draft.step(key)
    index = draft_structure.branch_index(paths, branch)
    item = paths["branches"][index]
    panel = Panel("branch", editor, step=card, status=status, branch=branch)
    panel.run_if_open = True
    if posted is not None:
        panel.values = {"name": posted.get("name", "")}
        panel.values.update(run_if.shown_posted(posted, run_if.BRANCH_PREFIX))
    else:
        panel.values = {"name": str(item.get("name") or branch)}
        panel.values.update(run_if.shown(item.get("condition"), run_if.BRANCH_PREFIX))
    panel.description = f"Branch of “{card.name}” (step {card.number})"
    reads = trials.available(session, editor.workflow, editor.draft, key)
    panel.picker = picker.groups(reads)
    return panel


def intro(editor: Editor) -> Panel:
    return Panel("intro", editor)
