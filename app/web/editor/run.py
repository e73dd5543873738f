"""Run now: the editor's form that runs the saved version once, by hand, with an optional JSON
payload, and sends the browser to the execution's live page."""

from __future__ import annotations

from flask import Response, redirect, request
from flask_login import login_required
from werkzeug.wrappers import Response as BaseResponse

from app.extensions import container, db
from app.services.errors import PayloadTooLargeError
from app.services.executions import lifecycle
from app.web.blueprint import bp
from app.web.editor import panels
from app.web.editor.page import page
from app.web.editor.support import editor_for, execution_url, json_object, owned_workflow
from app.web.rendering import is_fragment_request, redirect_htmx


@bp.get("/workflows/<int:workflow_id>/run")
@login_required
def workflow_run_form(workflow_id: int) -> Response:
    """The Run now form, starting from the saved trigger's sample data."""
    editor_ = editor_for(owned_workflow(workflow_id))
    return page("workflows/_run.html", editor_, panels.intro(editor_))


@bp.post("/workflows/<int:workflow_id>/run")
@login_required
def workflow_run(workflow_id: int) -> Response | BaseResponse:
    """Run the saved version now with an optional JSON payload, or dry run it (form
    `dry_run=1`); open its execution."""
    workflow = owned_workflow(workflow_id)
    text = request.form.get("payload", "")
    dry_run = request.form.get("dry_run") == "1"  # the "Dry run" button
    data, error = json_object(text, "Trigger data")
    if not error:
        try:
            execution = lifecycle.start(
                db.session(),
                workflow,
                data or {},
                send=container().doorbell.send,
                settings=container().settings,
                trigger_type="manual",
                dry_run=dry_run,
            )
        except PayloadTooLargeError as exc:
            db.session.rollback()
            error = str(exc)
    if error:
        editor_ = editor_for(workflow)
        return page(
            "workflows/_run.html",
            editor_,
            panels.intro(editor_),
            status=422,
            run_payload=text,
            run_error=error,
        )
    target = execution_url(execution.id)
    if is_fragment_request():
        return redirect_htmx(target)
    return redirect(target, 303)
