"""Step changes in the editor: add (anywhere in the tree), apply the panel, test. Card changes
(move, duplicate, delete, enable, branches) are editor/structure.py.

Panel changes answer the panel. Without
JavaScript each form posts, and the answer redirects back to the editor page."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, request, url_for
from flask_login import login_required
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as BaseResponse

from app.extensions import container, db
from app.models import Workflow
from app.services.errors import InvalidInputError
from app.services.workflows import draft_edits, draft_structure, draft_tree, trials
from app.services.workflows.draft_tree import Slot
from app.web.blueprint import bp
from app.web.editor import forms, panels, run_if, structure
from app.web.editor.page import page
from app.web.editor.support import (
    CHANGED,
    FLOW_STALE,
    editor_for,
    form_int,
    owned_workflow,
    secrets,
    with_events,
)
from app.web.rendering import htmx_response, is_fragment_request


def _back(workflow: Workflow, message: str, **args: Any) -> BaseResponse:
    flash(message, "success")
    return redirect(url_for("web.workflow_show", workflow_id=workflow.id, **args), 303)


@bp.post("/workflows/<int:workflow_id>/steps")
@login_required
def step_create(workflow_id: int) -> Response | BaseResponse:
    """Add a step of the chosen kind at a position; opens its panel."""
    workflow = owned_workflow(workflow_id)
    type_ = request.form.get("type", "")
    slot = structure.posted_slot(request.form.get("place")) or Slot()
    try:
        at = form_int("at", 10**6)
        actions = container().handlers.actions
        _, key = draft_structure.insert_step(db.session(), workflow, type_, at, actions, slot)
    except InvalidInputError as exc:
        db.session.rollback()
        editor_ = editor_for(workflow)
        panel = panels.palette(editor_, form_int("at", 0), slot)
        panel.errors["type"], panel.paths["type"] = exc.message, exc.field or "type"
        return page("workflows/_panel.html", editor_, panel, status=422)
    name = container().handlers.actions.get(type_).name
    if not is_fragment_request():
        return _back(workflow, f"Added a {name} step.", step=key)
    editor_ = editor_for(workflow, key)
    panel = panels.step_panel(db.session(), editor_, key)
    response = page("workflows/_panel.html", editor_, panel, status=201)
    response = htmx_response(
        response, push_url=url_for("web.workflow_show", workflow_id=workflow.id, step=key)
    )
    where = draft_tree.slot_words(editor_.draft.steps, slot)
    message = f"Added {name} as step {editor_.card(key).number}{' ' + where if where else ''}."
    return with_events(response, CHANGED, FLOW_STALE, announce=message)


def step_changes(
    fields: list[forms.FormField], form: MultiDict[str, str], *, as_typed: bool = False
) -> tuple[draft_edits.StepChanges, dict[str, str]]:
    """The step panel's post as changes, and what could not be read (by input name);
    `as_typed` keeps what cannot be read in the config, as text (for the draft)."""
    parsed = forms.parse(fields, form)
    errors = dict(parsed.errors)
    if as_typed:
        typed = forms.raw(fields, form)
        parsed.config = typed if typed is not None else {}
        if typed is None:
            errors[forms.CONFIG_JSON] = parsed.errors.get(forms.CONFIG_JSON, "")
    retry: dict[str, Any] | None = None
    attempts, kind, delay, limit = (
        form.get(f"retry.{n}", "").strip()
        for n in ("attempts", "backoff.type", "backoff.delay", "timeout_seconds")
    )
    try:
        retry = {
            "attempts": int(attempts or 3),
            "backoff": {"type": kind or "exponential", "delay": float(delay or 1)},
        }
    except ValueError:
        errors["retry.attempts" if not attempts.isdigit() else "retry.backoff.delay"] = (
            "Enter a number."
        )
    if limit and not limit.isdigit():
        errors["retry.timeout_seconds"] = "Enter a whole number of seconds, or leave it empty."
    elif limit and retry is not None:
        retry["timeout_seconds"] = int(limit)
    if retry == {"attempts": 3, "backoff": {"type": "exponential", "delay": 1.0}}:
        retry = None  # the default policy: keep the step's definition short
    condition, unread = run_if.posted(form, as_typed=as_typed)
    errors.update(unread)
    changes = draft_edits.StepChanges(
        name=form.get("name", ""),
        key=form.get("key", ""),
        config=parsed.config,
        retry=retry,
        continue_on_error="continue_on_error" in form,
        run_if=condition,
    )
    return changes, errors


def step_fields(workflow: Workflow, key: str) -> list[forms.FormField]:
    step = editor_for(workflow).draft.step(key)
    if step["type"] not in container().handlers.actions:
        return []
    return forms.form_fields(container().handlers.actions.get(step["type"]).Config)


def _refused(workflow: Workflow, key: str, problems: list[InvalidInputError]) -> BaseResponse:
    """The panel again with every value as typed and each error beside its field; what was
    typed is kept in the draft too, so opening another step or reloading loses nothing."""
    changes, unread = step_changes(step_fields(workflow, key), request.form, as_typed=True)
    draft_edits.keep_step_input(
        db.session(),
        workflow,
        key,
        changes,
        secrets(),
        container().handlers.actions,
        keep_config=forms.CONFIG_JSON in unread,
        held=forms.held_input(request.form, key),
    )
    editor_ = editor_for(workflow, key)
    where = editor_.draft.where(key)
    panel = panels.step_panel(db.session(), editor_, key, posted=request.form)
    panels.place_errors(panel, problems, f"{where}.", panels.STEP_INPUTS)
    response = page("workflows/_panel.html", editor_, panel, status=422)
    return with_events(response, CHANGED, FLOW_STALE)  # the card shows what the draft kept


def _apply(workflow_id: int, key: str, test: bool) -> Response | BaseResponse:
    workflow = owned_workflow(workflow_id)
    changes, errors = step_changes(step_fields(workflow, key), request.form)
    where = editor_for(workflow).draft.where(key)
    if errors:
        return _refused(
            workflow, key, [InvalidInputError(m, f"{where}.{n}") for n, m in errors.items()]
        )
    trial = None
    try:
        if test:
            _, key, trial = trials.apply_and_test(
                db.session(), workflow, key, changes, secrets(), container().runner
            )
        else:
            _, key = draft_edits.update_step(
                db.session(), workflow, key, changes, secrets(), container().handlers.actions
            )
    except InvalidInputError as exc:
        db.session.rollback()
        return _refused(workflow, key, getattr(exc, "problems", [exc]))
    message = "Step applied. Save to keep it." if trial is None else "Step applied and tested."
    if not is_fragment_request():
        return _back(workflow, message, step=key)
    editor_ = editor_for(workflow, key)
    panel = panels.step_panel(db.session(), editor_, key, trial=trial, status=message)
    response = page("workflows/_panel.html", editor_, panel)
    response = htmx_response(
        response, replace_url=url_for("web.workflow_show", workflow_id=workflow.id, step=key)
    )
    return with_events(response, CHANGED, FLOW_STALE, announce=message)


@bp.post("/workflows/<int:workflow_id>/steps/<key>")
@login_required
def step_update(workflow_id: int, key: str) -> Response | BaseResponse:
    """Apply the step panel (name, key, config, retries) to the draft."""
    return _apply(workflow_id, key, test=False)


@bp.get("/workflows/<int:workflow_id>/steps/<key>/run-if")
@login_required
def step_run_if(workflow_id: int, key: str) -> Response | BaseResponse:
    """The "Run only if" condition builder, loaded when its section is opened."""
    workflow = owned_workflow(workflow_id)
    if not is_fragment_request():
        target = url_for("web.workflow_show", workflow_id=workflow.id, step=key, run_if=1)
        return redirect(target + "#run-if", 303)
    editor_ = editor_for(workflow, key)
    panel = panels.step_panel(db.session(), editor_, key, run_if_open=True)
    return page("workflows/_run_if_builder.html", editor_, panel)


@bp.post("/workflows/<int:workflow_id>/steps/<key>/test")
@login_required
def step_test(workflow_id: int, key: str) -> Response | BaseResponse:
    """Apply the step panel, then run the step once with the sample data."""
    return _apply(workflow_id, key, test=True)
