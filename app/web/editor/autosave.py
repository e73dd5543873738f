"""The draft follows the panels as they are typed in: no edit is ever lost.

The step and trigger panels post here 600 ms after the last change (and when "Edit as JSON" is
switched on or off); what was typed is stored in the draft even when it is not valid yet, and
Apply, Save and the cards report what is wrong. What the definition cannot hold yet, a step
key typed but not applied and "Edit as JSON" text that is not JSON yet, is kept beside it
(drafts.Draft.inputs) and shown again, the JSON with its error, when the panel opens.
`draft_state` tells a page whether another tab saved the workflow since it was loaded."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, redirect, request, url_for
from flask_login import login_required
from werkzeug.wrappers import Response as BaseResponse

from app.extensions import container, db, htmx
from app.services.workflows import draft_edits, drafts
from app.web.blueprint import bp
from app.web.editor import forms, panels
from app.web.editor.page import page
from app.web.editor.steps import step_changes, step_fields
from app.web.editor.support import (
    CHANGED,
    FLOW_STALE,
    editor_for,
    json_object,
    owned_workflow,
    secrets,
    with_events,
)


def _answer(workflow_id: int, changed: bool, panel_args: dict[str, str]) -> BaseResponse:
    """204 (nothing to swap) with the events that refresh the toolbar and the cards; the
    panel the other way round when "Edit as JSON" was switched; the page without htmx."""
    view = request.form.get("view", "")
    if not htmx:
        args: dict[str, Any] = {**panel_args, **({"view": view} if view == "json" else {})}
        return redirect(url_for("web.workflow_show", workflow_id=workflow_id, **args), 303)
    if view:
        workflow = owned_workflow(workflow_id)
        editor_ = editor_for(workflow, panel_args.get("step") or panel_args.get("panel"))
        if "step" in panel_args:
            panel = panels.step_panel(
                db.session(), editor_, panel_args["step"], json_mode=view == "json"
            )
        else:
            panel = panels.trigger_panel(db.session(), editor_, json_mode=view == "json")
        response: BaseResponse = page("workflows/_panel.html", editor_, panel)
    else:
        response = Response(status=204)
    return with_events(response, CHANGED, FLOW_STALE) if changed else response


@bp.post("/workflows/<int:workflow_id>/steps/<key>/draft")
@login_required
def step_draft(workflow_id: int, key: str) -> BaseResponse:
    """Store the step panel in the draft as typed (valid or not)."""
    workflow = owned_workflow(workflow_id)
    changes, unread = step_changes(step_fields(workflow, key), request.form, as_typed=True)
    _, changed = draft_edits.keep_step_input(
        db.session(),
        workflow,
        key,
        changes,
        secrets(),
        container().handlers.actions,
        keep_config=forms.CONFIG_JSON in unread,
        held=forms.held_input(request.form, key),
    )
    return _answer(workflow_id, changed, {"step": key})


@bp.post("/workflows/<int:workflow_id>/trigger/draft")
@login_required
def trigger_draft(workflow_id: int) -> BaseResponse:
    """Store the trigger panel in the draft as typed. Choosing another kind is stored only
    by Apply (the kind's form is not on the page yet)."""
    workflow = owned_workflow(workflow_id)
    type_ = request.form.get("type", "")
    draft = drafts.load(db.session(), workflow)
    triggers = container().handlers.triggers
    if type_ != draft.trigger.get("type") or type_ not in triggers:
        return _answer(workflow_id, False, {"panel": "trigger"})
    fields = forms.form_fields(triggers.get(type_).Config)
    config = forms.raw(fields, request.form)
    sample, problem = json_object(request.form.get("sample_data", ""))
    _, changed = draft_edits.keep_trigger_input(
        db.session(),
        workflow,
        type_,
        config if config is not None else dict(draft.trigger.get("config") or {}),
        sample,
        secrets(),
        triggers,
        keep_sample=bool(problem),
        held=forms.held_input(request.form),
    )
    return _answer(workflow_id, changed, {"panel": "trigger"})


@bp.get("/workflows/<int:workflow_id>/draft/state")
@login_required
def draft_state(workflow_id: int) -> Response:
    """The saved version and whether the draft differs from it (for other tabs' pages)."""
    workflow = owned_workflow(workflow_id)
    draft = drafts.load(db.session(), workflow)
    return jsonify(version=workflow.version, dirty=drafts.has_unsaved(draft, workflow))
