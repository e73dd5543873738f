"""Step changes in the editor: add, apply the panel, test, move, duplicate, delete, enable.

Card changes answer the flow (or the one card); panel changes answer the panel. Without
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
from app.services.workflows import draft_edits, trials
from app.web.blueprint import bp
from app.web.editor import forms, panels, run_if
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


def _flow(
    workflow: Workflow, message: str, status: int = 200, details: dict[str, Any] | None = None
) -> BaseResponse:
    editor_ = editor_for(workflow, request.form.get("selected") or None)
    response = page("workflows/_flow.html", editor_, panels.intro(editor_), status=status)
    return with_events(response, CHANGED, announce=message, details=details)


@bp.post("/workflows/<int:workflow_id>/steps")
@login_required
def step_create(workflow_id: int) -> Response | BaseResponse:
    """Add a step of the chosen kind at a position; opens its panel."""
    workflow = owned_workflow(workflow_id)
    type_ = request.form.get("type", "")
    try:
        at = form_int("at", 10**6)
        actions = container().handlers.actions
        _, key = draft_edits.insert_step(db.session(), workflow, type_, at, actions)
    except InvalidInputError as exc:
        db.session.rollback()
        editor_ = editor_for(workflow)
        panel = panels.palette(editor_, form_int("at", 0))
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
    position = editor_.draft.index(key) + 1
    return with_events(response, CHANGED, FLOW_STALE, announce=f"Added {name} as step {position}.")


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
    attempts, kind, delay = (
        form.get(f"retry.{n}", "").strip() for n in ("attempts", "backoff.type", "backoff.delay")
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
    index = editor_.draft.index(key)
    panel = panels.step_panel(db.session(), editor_, key, posted=request.form)
    panels.place_errors(panel, problems, f"steps.{index}.", panels.STEP_INPUTS)
    response = page("workflows/_panel.html", editor_, panel, status=422)
    return with_events(response, CHANGED, FLOW_STALE)  # the card shows what the draft kept


def _apply(workflow_id: int, key: str, test: bool) -> Response | BaseResponse:
    workflow = owned_workflow(workflow_id)
    changes, errors = step_changes(step_fields(workflow, key), request.form)
    index = editor_for(workflow).draft.index(key)
    if errors:
        return _refused(
            workflow, key, [InvalidInputError(m, f"steps.{index}.{n}") for n, m in errors.items()]
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


@bp.post("/workflows/<int:workflow_id>/steps/<key>/move")
@login_required
def step_move(workflow_id: int, key: str) -> BaseResponse:
    """Move a step up, down, or to a position (drag and drop); answers the flow."""
    workflow = owned_workflow(workflow_id)
    draft = editor_for(workflow).draft
    index = draft.index(key)
    direction = request.form.get("direction")
    to = index - 1 if direction == "up" else index + 1 if direction == "down" else form_int("to")
    _, landed = draft_edits.move_step(db.session(), workflow, key, to)
    name = draft.steps[index].get("name") or key
    message = f"Moved “{name}” to position {landed + 1} of {len(draft.steps)}."
    if not is_fragment_request():
        return _back(workflow, message)
    return _flow(workflow, message)


@bp.post("/workflows/<int:workflow_id>/steps/<key>/duplicate")
@login_required
def step_duplicate(workflow_id: int, key: str) -> BaseResponse:
    """Insert a copy of the step after it; answers the flow."""
    workflow = owned_workflow(workflow_id)
    try:
        draft, copied = draft_edits.duplicate_step(db.session(), workflow, key)
    except InvalidInputError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("web.workflow_show", workflow_id=workflow.id), 303)
    message = f"Duplicated as “{draft.step(copied)['name']}” (step {draft.index(copied) + 1})."
    if not is_fragment_request():
        return _back(workflow, message, step=copied)
    return _flow(workflow, message, status=201)


@bp.post("/workflows/<int:workflow_id>/steps/<key>/delete")
@login_required
def step_delete(workflow_id: int, key: str) -> BaseResponse:
    """Remove the step from the draft; answers the flow."""
    workflow = owned_workflow(workflow_id)
    name = editor_for(workflow).draft.step(key).get("name") or key
    draft_edits.delete_step(db.session(), workflow, key)
    message = f"Deleted step “{name}”."
    if not is_fragment_request():
        return _back(workflow, message)
    return _flow(workflow, message, details={"stepline:step-removed": key})


@bp.post("/workflows/<int:workflow_id>/steps/<key>/enabled")
@login_required
def step_enable(workflow_id: int, key: str) -> BaseResponse:
    """Turn a step on or off; answers its card."""
    workflow = owned_workflow(workflow_id)
    enabled = request.form.get("enabled") == "1"
    _, index = draft_edits.set_step_enabled(db.session(), workflow, key, enabled)
    editor_ = editor_for(workflow, request.form.get("selected") or None)
    card = editor_.steps[index]
    message = f"Step “{card.name}” {'enabled' if enabled else 'disabled'}."
    if not is_fragment_request():
        return _back(workflow, message)
    response = page("workflows/_step_card.html", editor_, panels.intro(editor_), card=card)
    return with_events(response, CHANGED, announce=message)
