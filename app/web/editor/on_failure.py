"""The editor's "When a run fails" section: apply `settings.on_failure` to the draft."""

from __future__ import annotations

from flask import Response, flash, redirect, request, url_for
from flask_login import login_required
from werkzeug.wrappers import Response as BaseResponse

from app.extensions import db
from app.services.errors import InvalidInputError
from app.services.workflows import failure_settings
from app.web.blueprint import bp
from app.web.editor import failure_section, panels
from app.web.editor.page import page
from app.web.editor.support import CHANGED, FLOW_STALE, editor_for, owned_workflow, with_events
from app.web.rendering import is_fragment_request

FRAGMENT = "workflows/_on_failure.html"
APPLIED = "Failure handling applied. Save to keep it."


@bp.post("/workflows/<int:workflow_id>/settings/on-failure")
@login_required
def workflow_on_failure(workflow_id: int) -> Response | BaseResponse:
    """Choose the error workflow and the notices of a failed run."""
    workflow = owned_workflow(workflow_id)
    form = request.form
    try:
        failure_settings.update_on_failure(db.session(), workflow, failure_section.parse(form))
    except InvalidInputError as exc:
        db.session.rollback()
        editor_ = editor_for(workflow, "settings")
        panel = panels.settings_panel(editor_)
        found = failure_section.section(db.session(), editor_, posted=form)
        panel.failure = failure_section.place_errors(found, getattr(exc, "problems", [exc]))
        return page(FRAGMENT, editor_, panel, status=422)
    if not is_fragment_request():
        flash(APPLIED, "success")
        return redirect(
            url_for("web.workflow_show", workflow_id=workflow.id, panel="settings"), 303
        )
    editor_ = editor_for(workflow, "settings")
    panel = panels.settings_panel(editor_)
    panel.failure = failure_section.section(db.session(), editor_, status=APPLIED)
    return with_events(page(FRAGMENT, editor_, panel), CHANGED, FLOW_STALE, announce=APPLIED)
